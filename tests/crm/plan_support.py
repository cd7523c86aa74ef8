"""Fixtures and helpers of the plan, task, draft, outcome and dashboard tests: the CRM app
on a clock the test moves (``ManualClock``), and short API helpers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import nats.js
import pytest

from realtoros_crm.app import build_app
from realtoros_crm.claims.consumer import TICKS_DURABLE
from realtoros_crm.clock import ManualClock
from realtoros_crm.settings import CrmSettings
from realtoros_runtime.publisher import EventPublisher
from tests.crm.helpers import Crm, SignedIn, publish_tick
from tests.support.streams import wait_consumed


@pytest.fixture
def clock() -> ManualClock:
    # Starts at the real time: access tokens are issued on this clock and checked on the
    # real one, so sign in first, then move the clock.
    return ManualClock(datetime.now(UTC))


@pytest.fixture
async def crm_at(
    crm_settings: CrmSettings, nats_client: Any, clock: ManualClock
) -> AsyncIterator[Crm]:
    """The CRM (consumers and relay running) on the test's clock."""
    app = build_app(crm_settings, clock)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://crm.test") as http,
    ):
        yield Crm(app, http)


async def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json() if response.content else None


async def call(
    crm: Crm, who: SignedIn, method: str, url: str, status: int = 200, **kwargs: Any
) -> Any:
    return await ok(await crm.http.request(method, url, headers=who.headers, **kwargs), status)


async def tick_and_settle(
    crm: Crm, publisher: EventPublisher, js: nats.js.JetStreamContext, clock: ManualClock
) -> None:
    """One scheduler tick at the clock's time, processed (claimed or not) by the CRM."""
    await publish_tick(publisher, clock())
    await wait_consumed(js, crm.state.bus.ns.stream_name("scheduler"), TICKS_DURABLE)


async def run_tasks(crm: Crm, who: SignedIn, run_id: str) -> list[dict[str, Any]]:
    tasks: list[dict[str, Any]] = await call(crm, who, "GET", f"/tasks?plan_run_id={run_id}")
    return sorted(tasks, key=lambda task: task["step_position"])


def when(iso: str) -> datetime:
    return datetime.fromisoformat(iso)
