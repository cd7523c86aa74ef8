"""Fixtures of the CRM tests: the app running on the test's database and namespace."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from nats.aio.client import Client as NATS
from nats.js import JetStreamContext

from realtoros_contracts import Namespace
from realtoros_crm.app import build_app
from realtoros_crm.settings import CrmSettings
from tests.crm.helpers import Crm

PUBLIC_BASE_URL = "https://crm.example.test"


@pytest.fixture
def crm_settings(database_url: str, nats_url: str, namespace: Namespace) -> CrmSettings:
    # model_validate, not the constructor: the test's values only, never the environment's.
    return CrmSettings.model_validate(
        {
            "database_url": database_url,
            "nats_url": nats_url,
            "nats_namespace": namespace.name,
            "jwt_secret": "test-jwt-secret-that-is-long-enough-0123456789",
            "public_base_url": PUBLIC_BASE_URL,
            "max_deliveries": 3,
        }
    )


@pytest.fixture
async def crm(crm_settings: CrmSettings, nats_client: NATS) -> AsyncIterator[Crm]:
    """The app inside its lifespan (consumers and relay running) and an API client."""
    app = build_app(crm_settings)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://crm.test") as http,
    ):
        yield Crm(app, http)


@pytest.fixture
def js(nats_client: NATS) -> JetStreamContext:
    return nats_client.jetstream()
