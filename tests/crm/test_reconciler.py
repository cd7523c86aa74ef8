"""Nothing stays in flight: an email stuck composing or sending longer than the bound is
asked for again through the normal path (the mailer's ledger answers for a sent one)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import nats.js

from realtoros_contracts import EmailApproved, TaskDue
from realtoros_crm.emails.reconciler import reconcile_once
from realtoros_runtime.publisher import EventPublisher
from tests.crm.helpers import Crm, add_task, claimed_task, publish_tick, wait_task_status
from tests.crm.test_consumers import composed, sent
from tests.crm.test_working_day_templates import full_and_bare, setup
from tests.support.streams import stream_messages
from tests.support.waiting import eventually

BOUND = timedelta(minutes=15)


async def reconcile(crm: Crm, now: datetime) -> int:
    state = crm.state
    ctx = state.reconciler._ctx
    async with state.sessions() as session, session.begin():
        found = await reconcile_once(session, ctx, now, BOUND)
    state.relay.wake()
    return found


async def published_for(js: nats.js.JetStreamContext, crm: Crm, event: type, email_id: str) -> int:
    ns = crm.state.bus.ns
    if not (await js.stream_info(ns.stream_name("crm"))).state.messages:
        return 0
    messages = await stream_messages(js, ns.stream_name("crm"), ns.subject(event))
    return sum(json.loads(m.data or b"{}").get("email_id") == email_id for m in messages)


async def test_an_email_stuck_sending_is_asked_again_then_completes(
    crm: Crm, publisher: EventPublisher, js: nats.js.JetStreamContext
) -> None:
    who, task = await claimed_task(crm, publisher)
    await publisher.publish(composed(task, who), event_id=str(uuid.uuid4()))
    task = await wait_task_status(crm.http, who, task["id"], "sending")
    email_id = task["email"]["id"]

    assert await reconcile(crm, datetime.now(UTC)) == 0  # in flight, but not for long
    assert await reconcile(crm, datetime.now(UTC) + BOUND + timedelta(minutes=1)) == 1

    async def asked() -> bool:
        return await published_for(js, crm, EmailApproved, email_id) == 1

    await eventually(asked, timeout=30, what="EmailApproved for the stuck email")
    # Asked again once per bound, not on every round.
    assert await reconcile(crm, datetime.now(UTC) + BOUND + timedelta(minutes=2)) == 0
    # The mailer's ledger knows it was sent: its answer completes the task.
    await publisher.publish(sent(task, who, datetime.now(UTC)), event_id=f"sent:{email_id}")
    await wait_task_status(crm.http, who, task["id"], "sent")


async def test_an_email_stuck_composing_is_composed_again_with_the_same_email_id(
    crm: Crm, publisher: EventPublisher, js: nats.js.JetStreamContext
) -> None:
    who, task = await claimed_task(crm, publisher)
    email_id = task["email"]["id"]

    async def dues(count: int) -> bool:
        return await published_for(js, crm, TaskDue, email_id) == count

    await eventually(lambda: dues(1), timeout=30, what="the claim's TaskDue")
    assert await reconcile(crm, datetime.now(UTC) + BOUND + timedelta(minutes=1)) == 1
    await eventually(lambda: dues(2), timeout=30, what="a second TaskDue for the same email")
    await publisher.publish(composed(task, who), event_id=str(uuid.uuid4()))
    await wait_task_status(crm.http, who, task["id"], "sending")


async def test_a_stuck_template_task_is_asked_again_with_its_rendered_template(
    crm: Crm, publisher: EventPublisher, js: nats.js.JetStreamContext
) -> None:
    who, template = await setup(crm)
    full, _ = await full_and_bare(crm, who)
    task = await add_task(
        crm.http, who, full["id"], timedelta(minutes=-1), template_id=template["id"]
    )
    await publish_tick(publisher)
    task = await wait_task_status(crm.http, who, task["id"], "composing")
    email_id = task["email"]["id"]
    ns = crm.state.bus.ns

    async def dues() -> list[TaskDue]:
        messages = await stream_messages(js, ns.stream_name("crm"), ns.subject(TaskDue))
        events = [TaskDue.model_validate_json(m.data or b"") for m in messages]
        return [e for e in events if str(e.email_id) == email_id]

    await eventually(lambda: _count(dues, 1), timeout=30, what="the claim's TaskDue")
    assert await reconcile(crm, datetime.now(UTC) + BOUND + timedelta(minutes=1)) == 1
    await eventually(lambda: _count(dues, 2), timeout=30, what="the TaskDue asked again")
    first, again = await dues()
    assert again.template is not None, "the agent's template, not an AI draft"
    assert again.template == first.template


async def _count(dues: Callable[[], Awaitable[list[TaskDue]]], count: int) -> bool:
    return len(await dues()) == count
