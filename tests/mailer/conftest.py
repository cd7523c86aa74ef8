from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from realtoros_mailer.app import Mailer
from tests.mailer.helpers import SES_FROM
from tests.mailer.sns_fake import FakeSns
from tests.support.moto_ses import MotoSes


@pytest.fixture(scope="session")
def moto_ses() -> Iterator[MotoSes]:
    """One moto SES server for the session; tests tell their emails apart by email id."""
    with MotoSes() as ses:
        ses.verify_sender(SES_FROM)
        yield ses


@pytest.fixture(scope="module")
def sns() -> Iterator[FakeSns]:
    """A fake SNS: signs messages with a local certificate it serves over HTTP."""
    with FakeSns() as fake:
        yield fake


@pytest.fixture
async def http(mailer: Mailer) -> AsyncIterator[httpx.AsyncClient]:
    """The module's ``mailer`` app over HTTP (in-process)."""
    transport = httpx.ASGITransport(app=mailer.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://mailer.test") as client:
        yield client
