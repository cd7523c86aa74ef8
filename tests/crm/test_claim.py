"""Claiming due tasks on a tick: the email id, the TaskDue in the outbox, the relay, and no
task claimed twice by concurrent claims."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import nats.js
from sqlalchemy import func, select

from realtoros_contracts import TaskDue
from realtoros_contracts.envelope import H_ID, H_MSG_ID, H_TYPE
from realtoros_crm.claims.consumer import TICKS_DURABLE, Claimer
from realtoros_crm.claims.service import claim_batch
from realtoros_crm.claims.taskdue import ClaimContext
from realtoros_crm.emails.models import Email
from realtoros_crm.messaging.models import OutboxMessage
from realtoros_crm.tasks.models import Task
from realtoros_crm.unsubscribe_tokens import verify_unsubscribe
from realtoros_runtime.publisher import EventPublisher
from tests.crm.conftest import PUBLIC_BASE_URL
from tests.crm.helpers import (
    Crm,
    SignedIn,
    add_client,
    add_task,
    get_task,
    publish_tick,
    sign_up,
    wait_task_status,
)
from tests.support.streams import stream_messages, wait_consumed
from tests.support.waiting import eventually


async def wait_outbox_published(crm: Crm, count: int) -> None:
    """Wait for ``count`` TaskDue rows of the outbox to be published (the clients' own
    ClientCreated rows are not counted)."""

    async def check() -> bool:
        async with crm.state.sessions() as session:
            published = await session.scalar(
                select(func.count())
                .select_from(OutboxMessage)
                .where(
                    OutboxMessage.published_at.is_not(None),
                    OutboxMessage.event_type == TaskDue.TYPE,
                )
            )
        return published == count

    await eventually(check, what=f"{count} TaskDue outbox rows published")


def assert_carries_context(
    crm: Crm, event: TaskDue, task: dict[str, Any], client: dict[str, Any], who: SignedIn
) -> None:
    assert str(event.task_id) == task["id"]
    assert event.client.notes == "Loves gardens"
    assert event.client.custom_fields == {"beds": "3"}
    assert event.agent.name == "Ada Agent"
    delivery = event.delivery
    assert delivery.to_email == client["email"]
    assert delivery.to_name == client["name"]
    assert delivery.from_name == "Ada Agent via Lovelace Realty"
    assert delivery.reply_to == who.agent["email"]
    assert delivery.signature == "Ada\nLovelace Realty"
    assert delivery.postal_address == "1 Main St"
    assert delivery.send_mode == "automatic"
    prefix = f"{PUBLIC_BASE_URL}/unsubscribe/"
    assert delivery.unsubscribe_url.startswith(prefix)
    token = delivery.unsubscribe_url.removeprefix(prefix)
    key = crm.state.settings.unsubscribe_key()
    assert verify_unsubscribe(token, key) == uuid.UUID(client["id"])


async def test_tick_claims_due_tasks_and_publishes_one_task_due_each(
    crm: Crm, publisher: EventPublisher, js: nats.js.JetStreamContext
) -> None:
    who = await sign_up(crm.http, signature="Ada\nLovelace Realty", postal_address="1 Main St")
    client = await add_client(crm.http, who, notes="Loves gardens", custom_fields={"beds": 3})
    due = [await add_task(crm.http, who, client["id"], timedelta(minutes=-m)) for m in (1, 2, 3)]
    future = await add_task(crm.http, who, client["id"], timedelta(hours=1))

    await publish_tick(publisher)
    claimed = [await wait_task_status(crm.http, who, task["id"], "composing") for task in due]
    await wait_outbox_published(crm, 3)

    ns = crm.state.bus.ns
    messages = await stream_messages(js, ns.stream_for(TaskDue).name, ns.subject(TaskDue))
    assert len(messages) == 3
    by_email = {}
    for message in messages:
        headers = message.headers or {}
        assert headers[H_MSG_ID] == headers[H_ID]
        assert headers[H_TYPE] == TaskDue.TYPE
        event = TaskDue.model_validate_json(message.data or b"")
        by_email[str(event.email_id)] = event
    assert set(by_email) == {task["email"]["id"] for task in claimed}
    for task in claimed:
        assert task["email"]["status"] == "composing"
        assert_carries_context(crm, by_email[task["email"]["id"]], task, client, who)
    assert (await get_task(crm.http, who, future["id"]))["status"] == "pending"

    # Another tick claims nothing more: still exactly one TaskDue per task.
    await publish_tick(publisher, datetime.now(UTC) + timedelta(minutes=1))
    await wait_consumed(js, ns.stream_name("scheduler"), TICKS_DURABLE)
    assert len(await stream_messages(js, ns.stream_for(TaskDue).name, ns.subject(TaskDue))) == 3


async def test_inactive_clients_tasks_are_skipped(crm: Crm, publisher: EventPublisher) -> None:
    who = await sign_up(crm.http, send_mode="approval")
    closed = await add_client(crm.http, who, stage="closed")
    active = await add_client(crm.http, who)
    skipped = await add_task(crm.http, who, closed["id"])
    claimed = await add_task(crm.http, who, active["id"])

    await publish_tick(publisher)
    task = await wait_task_status(crm.http, who, skipped["id"], "skipped")
    assert task["failure_reason"] == "client stage is closed"
    assert task["email"] is None
    await wait_task_status(crm.http, who, claimed["id"], "composing")
    timeline = await crm.http.get(f"/clients/{closed['id']}/timeline", headers=who.headers)
    kinds = [a["kind"] for a in timeline.json() if a["kind"] != "client_created"]
    assert kinds == ["follow_up_skipped"]


async def _seed_due_tasks(crm: Crm, count: int) -> set[uuid.UUID]:
    who = await sign_up(crm.http)
    client = await add_client(crm.http, who)
    past = datetime.now(UTC) - timedelta(minutes=5)
    async with crm.state.sessions() as session, session.begin():
        tasks = [
            Task(
                agent_id=uuid.UUID(who.agent["id"]),
                client_id=uuid.UUID(client["id"]),
                due_at=past + timedelta(seconds=i),
                email=None,
            )
            for i in range(count)
        ]
        session.add_all(tasks)
    return {task.id for task in tasks}


def _claim_context(crm: Crm) -> ClaimContext:
    return ClaimContext(crm.state.bus.ns, PUBLIC_BASE_URL, crm.state.settings.unsubscribe_key())


async def test_a_locked_batch_is_skipped_by_a_concurrent_claim(crm: Crm) -> None:
    ids = await _seed_due_tasks(crm, 10)
    ctx, now = _claim_context(crm), datetime.now(UTC)
    async with crm.state.sessions() as first, crm.state.sessions() as second:
        first_batch = await claim_batch(first, now=now, limit=6, ctx=ctx)
        # The first transaction still holds its rows: the second gets only the others.
        second_batch = await asyncio.wait_for(
            claim_batch(second, now=now, limit=10, ctx=ctx), timeout=5
        )
        await first.commit()
        await second.commit()
    assert len(first_batch.claimed) == 6
    assert len(second_batch.claimed) == 4
    assert set(first_batch.claimed) | set(second_batch.claimed) == ids


async def test_parallel_claimers_never_claim_a_task_twice(crm: Crm) -> None:
    ids = await _seed_due_tasks(crm, 60)
    ctx, state = _claim_context(crm), crm.state
    claimers = [Claimer(state.sessions, state.clock, ctx, batch_size=7) for _ in range(3)]
    results = await asyncio.gather(*(c.claim_due_tasks() for c in claimers))

    claimed = [task_id for result in results for task_id in result.claimed]
    assert len(claimed) == len(set(claimed)) == 60
    assert set(claimed) == ids
    async with state.sessions() as session:
        emails = await session.scalar(select(func.count()).select_from(Email))
        outbox = await session.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.event_type == TaskDue.TYPE)
        )
        statuses = set((await session.scalars(select(Task.status))).all())
    assert emails == outbox == 60
    assert statuses == {"composing"}
