"""An outage costs latency, never state: the four services run as processes, follow-ups
fall due, and PostgreSQL, NATS, or both (overlapping) are stopped for a while, then
started again. Afterwards every task is final with no manual step, SES accepted each
email exactly once, nothing was dead-lettered, and while the database was down the API
answered 503 with Retry-After (never 500).

``OUTAGE_SECONDS`` (default 18: longer than the ~15 s retry budget that used to
dead-letter results) sets each outage; the issue's figure is 60. ``OUTAGE_FOLLOW_UPS``
(default 30) sets the follow-ups per scenario.
"""

from __future__ import annotations

import asyncio
import os
import random
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import nats
import pytest
from playwright.async_api import Browser, Page, async_playwright
from playwright.async_api import Error as PlaywrightError

from tests.chaos.checks import task_outcomes
from tests.chaos.cluster import Cluster, running_cluster
from tests.chaos.conftest import ChaosServers
from tests.chaos.test_follow_ups_under_chaos import AGENT_PASSWORD, all_final, create_follow_ups
from tests.support.moto_ses import MotoSes
from tests.support.streams import stream_messages
from tests.support.waiting import eventually
from tests.web.conftest import chromium

__all__ = ["chromium"]  # the web tests' fixture: Debian's Chromium, or why not

UNAVAILABLE = "RealtorOS can't reach its database; retrying"

OUTAGE = float(os.environ.get("OUTAGE_SECONDS", "18"))
FOLLOW_UPS = int(os.environ.get("OUTAGE_FOLLOW_UPS", "30"))
WINDOW = OUTAGE * 1.5 + 5  # tasks keep falling due before, during and after the outage

pytestmark = [pytest.mark.chaos, pytest.mark.timeout(600 + 6 * OUTAGE)]


@dataclass
class Outage:
    cluster: Cluster
    ses: MotoSes
    database_url: str
    api: dict[int, int] = field(default_factory=Counter)
    retry_after: set[str] = field(default_factory=set)
    browser_task: asyncio.Task[int] | None = None


@pytest.fixture(scope="module")
def outage_cluster(chaos_servers: ChaosServers, chaos_llm: str) -> Iterator[Outage]:
    with running_cluster(chaos_servers, chaos_llm, "outage", replicas=1) as running:
        yield Outage(*running)


async def _start_follow_ups(outage: Outage, name: str) -> tuple[list[str], str]:
    """The follow-ups of one scenario (its own agent), and that agent's access token."""
    email = f"{name}@harbor.example"
    start = datetime.now(UTC) + timedelta(seconds=5)
    ids = await create_follow_ups(
        outage.cluster, random.Random(name), start, count=FOLLOW_UPS, window=WINDOW,
        agent_email=email,
    )  # fmt: skip
    async with httpx.AsyncClient(base_url=outage.cluster.procs["crm-1"].base_url) as http:
        login = await http.post("/auth/login", json={"email": email, "password": AGENT_PASSWORD})
        login.raise_for_status()
    outage.cluster.note(f"{name}: {len(ids)} tasks due over {WINDOW:.0f}s")

    async def flowing() -> bool | None:
        rows = await task_outcomes(outage.database_url, ids)
        return any(r["status"] == "sent" for r in rows) or None

    flowed: bool = await eventually(flowing, timeout=120, what="work flowing")
    assert flowed
    return ids, str(login.json()["access_token"])


async def _probe_api_for(outage: Outage, token: str, seconds: float) -> None:
    """Call the API every half second for ``seconds`` (the outage's length), counting the
    answers: the outage is timed, not awaited."""
    base = outage.cluster.procs["crm-1"].base_url
    headers = {"Authorization": f"Bearer {token}"}
    until = time.monotonic() + seconds
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=15) as http:
        while time.monotonic() < until:
            response = await http.get("/tasks")
            outage.api[response.status_code] += 1
            if response.status_code == 503:
                outage.retry_after.add(response.headers.get("Retry-After", ""))
                assert response.json()["status"] == 503  # problem details
            await asyncio.sleep(0.5)


async def _settles(outage: Outage, ids: list[str], name: str) -> None:
    cluster = outage.cluster

    async def final() -> list[dict[str, Any]] | None:
        return await all_final(outage.database_url, ids)

    try:
        rows: list[dict[str, Any]] = await eventually(
            final, timeout=180 + 4 * OUTAGE, interval=1.0, what=f"{name}: every task final"
        )
    except AssertionError:
        print(cluster.logs())
        raise
    statuses = Counter(r["status"] for r in rows)
    sent = Counter(m.email_id for m in await asyncio.to_thread(outage.ses.sent_messages))
    nc = await nats.connect(cluster.servers.nats.url)
    try:
        stream = cluster.ns.dead_letter_stream().name
        stored = (await nc.jetstream().stream_info(stream)).state.messages
        letters = await stream_messages(nc.jetstream(), stream) if stored else []
    finally:
        await nc.close()
    cluster.note(f"{name}: {dict(statuses)}; API during the outage {dict(outage.api)}")
    assert statuses == Counter({"sent": FOLLOW_UPS}), statuses
    mine = [sent[r["email_id"]] for r in rows]
    assert mine == [1] * FOLLOW_UPS, Counter(mine)  # each accepted by SES exactly once
    assert not letters, [m.headers for m in letters]
    assert 500 not in outage.api


async def _outage(
    outage: Outage, name: str, stop: Callable[[], None], start: Callable[[], Any], token: str
) -> None:
    stop()
    outage.cluster.note(f"{name}: stopped for {OUTAGE:.0f}s")
    try:
        await _probe_api_for(outage, token, OUTAGE)
    finally:
        await asyncio.to_thread(start)
    outage.cluster.note(f"{name}: started again")


async def test_postgres_stopped_with_work_flowing(outage_cluster: Outage, chromium: str) -> None:
    outage_cluster.api.clear()
    ids, token = await _start_follow_ups(outage_cluster, "pg")
    servers = outage_cluster.cluster.servers
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=chromium, headless=True, args=["--no-sandbox", "--disable-gpu"]
        )
        page = await _signed_in(browser, outage_cluster, "pg@harbor.example")

        def stop() -> None:
            servers.postgres.stop()
            outage_cluster.browser_task = asyncio.create_task(_agent_sees_the_outage(page))

        await _outage(outage_cluster, "PostgreSQL", stop, servers.postgres.start, token)
        assert outage_cluster.browser_task is not None
        assert await asyncio.wait_for(outage_cluster.browser_task, 60) == 503
        # The page retries by itself: the dashboard is back without a click.
        assert await _recovers_by_itself(page)
        await browser.close()
    assert outage_cluster.api[503] > 0, outage_cluster.api
    assert "" not in outage_cluster.retry_after  # every 503 says when to retry
    await _settles(outage_cluster, ids, "PostgreSQL outage")


async def _signed_in(browser: Browser, outage: Outage, email: str) -> Page:
    page = await browser.new_page()
    await page.goto(f"{outage.cluster.procs['crm-1'].base_url}/app/login")
    await page.get_by_label("Email address").fill(email)
    await page.get_by_label("Password").fill(AGENT_PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url(lambda url: "/app/login" not in url)
    return page


async def _recovers_by_itself(page: Page) -> bool:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            await page.wait_for_load_state()
            if UNAVAILABLE not in await page.inner_text("body"):
                return True
        except PlaywrightError:  # navigating (the page's own refresh): look again
            pass
        await asyncio.sleep(0.5)
    return False


async def _agent_sees_the_outage(page: Page) -> int:
    """Reload the page the agent is on until the outage page shows; its status."""
    while True:
        response = await page.reload()
        if UNAVAILABLE in await page.inner_text("body"):
            assert response is not None
            return response.status
        await asyncio.sleep(0.5)


async def test_nats_stopped_with_work_flowing(outage_cluster: Outage) -> None:
    outage_cluster.api.clear()
    ids, token = await _start_follow_ups(outage_cluster, "nats")
    servers = outage_cluster.cluster.servers
    await _outage(outage_cluster, "NATS", servers.nats.stop, servers.nats.start, token)
    assert set(outage_cluster.api) == {200}, outage_cluster.api  # the API needs no NATS
    await _settles(outage_cluster, ids, "NATS outage")


async def test_postgres_and_nats_stopped_overlapping(outage_cluster: Outage) -> None:
    outage_cluster.api.clear()
    ids, token = await _start_follow_ups(outage_cluster, "both")
    servers = outage_cluster.cluster.servers

    async def nats_outage_in_the_middle() -> None:
        await asyncio.sleep(OUTAGE / 2)  # timed fault injection, not synchronisation
        await _outage(outage_cluster, "NATS", servers.nats.stop, servers.nats.start, token)

    nats_down: Awaitable[None] = asyncio.create_task(nats_outage_in_the_middle())
    await _outage(
        outage_cluster, "PostgreSQL", servers.postgres.stop, servers.postgres.start, token
    )
    await nats_down
    assert outage_cluster.api[503] > 0, outage_cluster.api
    await _settles(outage_cluster, ids, "overlapping outages")
