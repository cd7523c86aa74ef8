from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from nats.aio.client import Client as NatsClient

from realtoros_contracts import Namespace
from realtoros_devstack.embedded import free_port
from realtoros_mailer.app import Mailer
from realtoros_mailer.transports import Transport
from tests.mailer.helpers import SES_FROM, FailsFirst, run_mailer, settings_for
from tests.mailer.inbound_support import inbound_settings
from tests.mailer.sns_fake import FakeSns
from tests.support.moto_ses import ACCESS_KEY, SECRET_KEY, MotoSes


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
def smtp_port() -> int:
    return free_port()


@pytest.fixture
def transport() -> list[FailsFirst]:
    """The mailer's transport, counting its sends (filled when the mailer is built)."""
    return []


@pytest.fixture
async def mailer(
    nats_url: str,
    namespace: Namespace,
    nats_client: NatsClient,
    sns: FakeSns,
    tmp_path: Path,
    smtp_port: int,
    moto_ses: MotoSes,
    transport: list[FailsFirst],
) -> AsyncIterator[Mailer]:
    """A mailer with replies on (file outbox in ``tmp_path``, S3 on moto), its transport
    counted in ``transport`` (the inbound tests'); a module that needs another mailer
    defines its own ``mailer`` fixture."""
    settings = settings_for(
        nats_url,
        namespace,
        mail_outbox_dir=tmp_path,
        sns_cert_url_pattern=sns.url_pattern,
        s3_endpoint_url=moto_ses.endpoint_url,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
        **inbound_settings(smtp_port, mail_inbound_max_bytes=64 * 1024),
    )

    def counted(inner: Transport) -> Transport:
        transport.append(FailsFirst(inner, None))
        return transport[-1]

    async with run_mailer(settings, wrap_transport=counted) as running:
        yield running


@pytest.fixture
async def http(mailer: Mailer) -> AsyncIterator[httpx.AsyncClient]:
    """The module's ``mailer`` app over HTTP (in-process)."""
    transport = httpx.ASGITransport(app=mailer.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://mailer.test") as client:
        yield client
