"""The outbox relay publishes each row once, across crashes and restarts."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import nats.js
import pytest
from sqlalchemy import select

from realtoros_contracts import AgentContext, ClientContext, DeliveryContext, TaskDue
from realtoros_crm.clock import system_clock
from realtoros_crm.db import Sessions, build_engine, build_sessions
from realtoros_crm.messaging.models import OutboxMessage
from realtoros_crm.messaging.outbox import add_to_outbox
from realtoros_crm.messaging.relay import OutboxRelay
from realtoros_crm.settings import CrmSettings
from realtoros_runtime.bus import Bus, build_bus
from tests.support.streams import stream_messages
from tests.support.waiting import eventually


def a_task_due() -> TaskDue:
    return TaskDue(
        email_id=uuid.uuid4(),
        task_id=uuid.uuid4(),
        agent_id=uuid.uuid4(),
        client_id=uuid.uuid4(),
        due_at=datetime.now(UTC),
        purpose="Day 1",
        client=ClientContext(name="C", email="c@example.org", stage="lead"),
        agent=AgentContext(name="A", email="a@example.com"),
        delivery=DeliveryContext(
            to_email="c@example.org", to_name="C", from_name="A", reply_to="a@example.com"
        ),
    )


@pytest.fixture
async def parts(
    crm_settings: CrmSettings, nats_client: object
) -> AsyncIterator[tuple[Sessions, Bus]]:
    """A database and a connected bus, without the app (so no relay runs on its own)."""
    engine = build_engine(crm_settings.database_url)
    bus = build_bus("crm", crm_settings)
    await bus.connect()
    yield build_sessions(engine), bus
    await bus.broker.stop()
    await engine.dispose()


async def _write(sessions: Sessions, bus: Bus, event: TaskDue) -> OutboxMessage:
    async with sessions() as session, session.begin():
        row = add_to_outbox(
            session, bus.ns, event, event_id=str(uuid.uuid4()), now=datetime.now(UTC)
        )
    return row


async def _relay_until_marked(sessions: Sessions, bus: Bus, row_id: int, what: str) -> OutboxRelay:
    """Start a relay, wait until it marks the row published, stop it; the relay."""
    relay = OutboxRelay(sessions, bus.publisher, system_clock, batch_size=10, poll_seconds=0.05)
    relay.start()
    try:
        await eventually(lambda: _published_at(sessions, row_id), timeout=5, what=what)
    finally:
        await relay.stop()
    return relay


async def _published_at(sessions: Sessions, row_id: int) -> datetime | None:
    async with sessions() as session:
        return await session.scalar(
            select(OutboxMessage.published_at).where(OutboxMessage.id == row_id)
        )


async def test_a_crash_after_publishing_and_a_restart_publish_once(
    parts: tuple[Sessions, Bus], js: nats.js.JetStreamContext
) -> None:
    sessions, bus = parts
    row = await _write(sessions, bus, a_task_due())
    # A relay published the row, then died before marking it.
    await bus.publisher.publish_raw(row.subject, row.body, dict(row.headers), stream=row.stream)

    await _relay_until_marked(sessions, bus, row.id, "row marked")
    later = await _write(sessions, bus, a_task_due())  # written while no relay runs
    restarted = await _relay_until_marked(sessions, bus, later.id, "later marked")

    messages = await stream_messages(js, row.stream, row.subject)
    ids = [(m.headers or {})["Nats-Msg-Id"] for m in messages]
    assert ids == [row.event_id, later.event_id]
    assert messages[0].data == row.body
    assert await restarted.publish_batch() == 0


async def test_rows_are_published_in_order_in_batches(
    parts: tuple[Sessions, Bus], js: nats.js.JetStreamContext
) -> None:
    sessions, bus = parts
    rows = [await _write(sessions, bus, a_task_due()) for _ in range(7)]
    relay = OutboxRelay(sessions, bus.publisher, system_clock, batch_size=3)
    await relay.drain()  # batches of 3, 3, 1
    messages = await stream_messages(js, rows[0].stream, rows[0].subject)
    assert [(m.headers or {})["Nats-Msg-Id"] for m in messages] == [r.event_id for r in rows]
    for row in rows:
        assert await _published_at(sessions, row.id) is not None
