"""The "goes out …" note of a plan email is the claimer's hold, to the minute: the sending
window kept in the client's time zone (one rule, ``window_for``), and the note names that
zone when it is not the agent's."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

import httpx
import pytest
from nats.aio.client import Client as NATS
from sqlalchemy import select

from realtoros_contracts import Namespace
from realtoros_crm.agents.models import Agent
from realtoros_crm.app import build_app
from realtoros_crm.claims.service import claim_batch
from realtoros_crm.clock import ManualClock
from realtoros_crm.emails.models import Email
from realtoros_crm.tasks.models import Task
from tests.web.conftest import settings_for
from tests.web.support import WebClient, csrf_of

NEW_YORK, LOS_ANGELES = ZoneInfo("America/New_York"), ZoneInfo("America/Los_Angeles")
# 06:00 in Los Angeles is 09:00 in New York: the window (08:30-17:00) is open in the
# agent's zone and closed in the client's. A Wednesday.
NOW = datetime(2026, 12, 9, 6, 0, tzinfo=LOS_ANGELES)


@pytest.fixture
async def web_at(
    database_url: str, nats_url: str, namespace: Namespace, nats_client: NATS
) -> AsyncIterator[tuple[WebClient, ManualClock]]:
    clock = ManualClock(datetime.now(UTC))  # sign in on the real time, then move
    app = build_app(settings_for(database_url, nats_url, namespace), clock)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://crm.test") as http,
    ):
        yield WebClient(app, http), clock


async def _client(web: WebClient, name: str, zone: str) -> uuid.UUID:
    added = await web.submit(
        "/app/clients/new",
        "/app/clients/new",
        {"name": name, "email": f"{name.split()[0].lower()}@example.com", "timezone": zone},
    )
    assert added.status_code == 303, added.text
    return uuid.UUID(added.headers["location"].rsplit("/", 1)[1])


async def test_the_note_is_the_claimers_hold_in_the_clients_zone(
    web_at: tuple[WebClient, ManualClock],
) -> None:
    web, clock = web_at
    await web.sign_up("zones@harbor.example")
    state = web.app.state.crm
    async with state.sessions() as session:
        agent = (await session.scalars(select(Agent))).one()
        agent.timezone = "America/New_York"
        agent.sending_days, agent.sending_start, agent.sending_end = (
            [1, 2, 3, 4, 5],
            time(8, 30),
            time(17),
        )
        await session.commit()
    far = await _client(web, "Lee Park", "America/Los_Angeles")
    near = await _client(web, "Ann Cole", "")  # the agent's zone
    page = await web.http.get(f"/app/clients/{far}")
    plan_id = re.search(r'<option value="([0-9a-f-]{36})">', page.text)
    assert plan_id is not None
    for client_id in (far, near):
        applied = await web.http.post(
            f"/app/clients/{client_id}/plans",
            data={"csrf": csrf_of(page.text), "plan_id": plan_id.group(1)},
        )
        assert applied.status_code == 303, applied.text
    # One email of each client's plan fell due at 05:00 in Los Angeles and was not claimed.
    async with state.sessions() as session:
        firsts = {}
        for client_id in (far, near):
            task = (
                await session.scalars(
                    select(Task)
                    .where(Task.client_id == client_id, Task.task_type == "email")
                    .order_by(Task.due_at)
                    .limit(1)
                )
            ).one()
            task.due_at = NOW.replace(hour=5)
            firsts[client_id] = task.id
        await session.commit()
    clock.set(NOW)

    far_page = (await web.http.get(f"/app/tasks/{firsts[far]}")).text
    near_page = (await web.http.get(f"/app/tasks/{firsts[near]}")).text
    assert "goes out" not in near_page  # 09:00 in New York: the window is open
    note = re.search(r'<span class="goes-out">([^<]*)</span>', far_page)
    assert note is not None, far_page
    assert note.group(1) == (
        "goes out Wed 09 Dec 2026, 11:30, when your sending window opens "
        "(08:30 in the client&#39;s time zone, America/Los_Angeles)"
    )
    listed = (await web.http.get("/app/tasks")).text
    assert note.group(1) in listed  # the task list shows the same note

    # A plan step's draft held for approval: approved now, it waits for the same opening.
    async with state.sessions() as session:
        second = (
            await session.scalars(
                select(Task)
                .where(Task.client_id == far, Task.task_type == "email", Task.id != firsts[far])
                .order_by(Task.due_at)
                .limit(1)
            )
        ).one()
        email = Email(
            agent_id=second.agent_id,
            client_id=far,
            task_id=second.id,
            status="awaiting_approval",
            to_email="lee@example.com",
            subject="Checking in",
            body_text="Hi Lee,\n\nHow was the weekend?",
            created_at=clock(),
            updated_at=clock(),
        )
        session.add(email)
        await session.flush()
        second.status, second.email_id, second.due_at = "awaiting_approval", email.id, clock()
        await session.commit()
    draft = (await web.http.get(f"/app/drafts/{second.id}")).text
    assert f"Approved now, it {note.group(1)}." in draft

    # The claimer holds exactly that long.
    async with state.sessions() as session:
        result = await claim_batch(session, now=clock(), limit=10, ctx=state.claim_context)
        await session.commit()
    assert firsts[far] in result.deferred
    assert firsts[near] not in result.deferred
    async with state.sessions() as session:
        held = (await session.scalars(select(Task).where(Task.id == firsts[far]))).one()
    assert held.due_at == datetime(2026, 12, 9, 8, 30, tzinfo=LOS_ANGELES)
    assert held.due_at.astimezone(NEW_YORK).strftime("%a %d %b %Y, %H:%M") in note.group(1)
