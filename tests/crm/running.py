"""The CRM app with some settings changed, running inside its lifespan (for the tests of
accounts, Google sign-in, CORS and throttling)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx

from realtoros_crm.app import build_app
from realtoros_crm.settings import CrmSettings
from tests.crm.helpers import Crm


@asynccontextmanager
async def running_crm(
    settings: CrmSettings, *, client_ip: str = "203.0.113.7", **changes: Any
) -> AsyncIterator[Crm]:
    changed = CrmSettings.model_validate({**settings.model_dump(), **changes})
    app = build_app(changed)
    transport = httpx.ASGITransport(app, client=(client_ip, 40000))
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://crm.test") as http,
    ):
        yield Crm(app, http)
