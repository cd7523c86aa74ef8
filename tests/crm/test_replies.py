"""A client's reply (ClientReplied from the mailer) lands once: on the timeline and the
email, pauses (or stops, or leaves) the client's active plans as each plan says, holds
drafts awaiting approval, unsubscribes on "stop", and only the agent's own replies are
theirs to see."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import nats.js

from realtoros_contracts import (
    AutoReplyReceived,
    ClientReplied,
    ClientUnsubscribed,
    EmailApproved,
    EmailHeld,
    TaskDue,
)
from realtoros_contracts.envelope import H_ID
from realtoros_crm.consumers import AUTO_REPLIED_DURABLE, REPLIED_DURABLE
from realtoros_runtime.publisher import EventPublisher
from tests.crm.helpers import (
    Crm,
    SignedIn,
    add_task,
    claimed_task,
    publish_tick,
    sign_up,
    wait_task_status,
)
from tests.crm.plan_support import call
from tests.crm.test_consumers import activities, composed, publish_copy, sent
from tests.support.streams import stream_messages, wait_consumed
from tests.support.waiting import eventually

AT = datetime(2026, 11, 26, 9, 30, tzinfo=UTC)
STEPS = [{"delay_days": d, "purpose": f"Step {d}"} for d in (2, 4, 6)]


async def sent_task(
    crm: Crm, publisher: EventPublisher, who: SignedIn | None = None, **client: Any
) -> tuple[SignedIn, dict[str, Any]]:
    who, task = await claimed_task(crm, publisher, who, **client)
    await publisher.publish(composed(task, who), event_id=str(uuid.uuid4()))
    await wait_task_status(crm.http, who, task["id"], "sending")
    await publisher.publish(sent(task, who, AT), event_id=str(uuid.uuid4()))
    return who, await wait_task_status(crm.http, who, task["id"], "sent")


async def start_plan(
    crm: Crm, who: SignedIn, client_id: str, on_reply: str = "pause"
) -> dict[str, Any]:
    body = {"name": f"Plan {on_reply}", "on_reply": on_reply, "steps": STEPS}
    plan = await call(crm, who, "POST", "/plans", 201, json=body)
    assert plan["on_reply"] == on_reply
    body = {"plan_id": plan["id"]}
    run: dict[str, Any] = await call(
        crm, who, "POST", f"/clients/{client_id}/plans", 201, json=body
    )
    return run


def reply(task: dict[str, Any] | None, **fields: Any) -> ClientReplied:
    values: dict[str, Any] = {
        "email_id": task["email"]["id"] if task else None,
        "matched_by": "reply-address" if task else "sender",
        "from_email": "c@example.org",
        "subject": "Re: Checking in",
        "text": "Thursday at 4 works for me.",
        "received_at": AT,
        "attachments": ["offer.pdf"],
        **fields,
    }
    return ClientReplied(**values)


async def deliver(
    crm: Crm, publisher: EventPublisher, js: nats.js.JetStreamContext, event: Any
) -> str:
    event_id = f"reply:{uuid.uuid4().hex}"
    await publisher.publish(event, event_id=event_id)
    durable = AUTO_REPLIED_DURABLE if isinstance(event, AutoReplyReceived) else REPLIED_DURABLE
    await wait_consumed(js, crm.state.bus.ns.stream_name("mailer"), durable, timeout=30)
    return event_id


async def test_a_reply_pauses_the_plans_lands_on_the_timeline_and_counts_once(
    crm: Crm, publisher: EventPublisher, js: nats.js.JetStreamContext
) -> None:
    who, task = await sent_task(crm, publisher)
    paused = await start_plan(crm, who, task["client_id"])
    stopped = await start_plan(crm, who, task["client_id"], "stop")
    kept = await start_plan(crm, who, task["client_id"], "continue")
    event = reply(task)
    event_id = await deliver(crm, publisher, js, event)
    await publish_copy(publisher, event, event_id, "again")  # SNS retried, past the window
    await wait_consumed(js, crm.state.bus.ns.stream_name("mailer"), REPLIED_DURABLE, timeout=30)
    run = await call(crm, who, "GET", f"/plan-runs/{paused['id']}")
    assert (run["status"], run["pause_reason"]) == ("paused", "client replied")
    assert (await call(crm, who, "GET", f"/plan-runs/{stopped['id']}"))["status"] == "stopped"
    assert (await call(crm, who, "GET", f"/plan-runs/{kept['id']}"))["status"] == "active"
    email = await call(crm, who, "GET", f"/tasks/{task['id']}/draft")
    assert email["replied_at"] is not None
    [found] = await call(crm, who, "GET", "/replies?unanswered=true")
    assert (found["text"], found["attachments"]) == ("Thursday at 4 works for me.", ["offer.pdf"])
    timeline = [a for a in await activities(crm, task["client_id"]) if a.kind == "client_replied"]
    assert len(timeline) == 1
    assert "Re: Checking in" in timeline[0].summary
    assert "Thursday at 4" in timeline[0].summary
    await call(crm, who, "POST", f"/plan-runs/{paused['id']}/resume")
    answered = await call(crm, who, "POST", f"/replies/{found['id']}/answered")
    assert answered["answered_at"] is not None
    assert await call(crm, who, "GET", "/replies?unanswered=true") == []


async def test_an_auto_reply_is_recorded_and_pauses_nothing(
    crm: Crm, publisher: EventPublisher, js: nats.js.JetStreamContext
) -> None:
    who, task = await sent_task(crm, publisher)
    run = await start_plan(crm, who, task["client_id"])
    fields = reply(task, text="I am out of the office.").model_dump(
        exclude={"unsubscribe_requested"}
    )
    await deliver(
        crm, publisher, js, AutoReplyReceived(**fields, reason="Auto-Submitted: auto-replied")
    )
    assert (await call(crm, who, "GET", f"/plan-runs/{run['id']}"))["status"] == "active"
    kinds = [a.kind for a in await activities(crm, task["client_id"])]
    assert "client_auto_replied" in kinds
    assert "client_replied" not in kinds
    assert await call(crm, who, "GET", "/replies?unanswered=true") == []


async def test_a_reply_asking_to_stop_unsubscribes_the_client(
    crm: Crm, publisher: EventPublisher, js: nats.js.JetStreamContext
) -> None:
    who, task = await sent_task(crm, publisher)
    run = await start_plan(crm, who, task["client_id"])
    await deliver(
        crm, publisher, js, reply(task, text="Please stop emailing me.", unsubscribe_requested=True)
    )
    client = await call(crm, who, "GET", f"/clients/{task['client_id']}")
    assert client["unsubscribed"] is True
    assert (await call(crm, who, "GET", f"/plan-runs/{run['id']}"))["status"] == "stopped"
    ns = crm.state.bus.ns

    async def unsubscribed() -> list[Any]:
        found = await stream_messages(js, ns.stream_name("crm"), ns.subject(ClientUnsubscribed))
        return [m for m in found if task["client_id"].encode() in (m.data or b"")]

    [message] = await eventually(unsubscribed, timeout=30, what="ClientUnsubscribed")
    assert b'"source":"reply"' in (message.data or b"")


async def test_a_reply_matched_by_sender_only_needs_exactly_one_recent_recipient(
    crm: Crm, publisher: EventPublisher, js: nats.js.JetStreamContext
) -> None:
    address = f"Shared-{uuid.uuid4().hex[:8]}@Example.org"
    who, task = await sent_task(crm, publisher, email=address.lower())
    await deliver(crm, publisher, js, reply(None, from_email=address, text="By sender."))
    [found] = await call(crm, who, "GET", "/replies")
    assert (found["matched_by"], found["email_id"]) == ("sender", task["email"]["id"])
    # another agent emailed the same address: a sender-only reply is now ambiguous
    other, _ = await sent_task(crm, publisher, email=address.lower())
    await deliver(crm, publisher, js, reply(None, from_email=address, text="Ambiguous."))
    for agent in (who, other):
        assert "Ambiguous." not in [r["text"] for r in await call(crm, agent, "GET", "/replies")]


async def test_replies_are_the_agents_own_and_a_deleted_client_drops_them(
    crm: Crm, publisher: EventPublisher, js: nats.js.JetStreamContext
) -> None:
    who, task = await sent_task(crm, publisher)
    other = await sign_up(crm.http)
    await deliver(crm, publisher, js, reply(task))
    [mine] = await call(crm, who, "GET", "/replies")
    assert await call(crm, other, "GET", "/replies") == []
    await call(crm, other, "POST", f"/replies/{mine['id']}/answered", 404)
    _, second = await sent_task(crm, publisher, who)
    await call(crm, who, "DELETE", f"/clients/{second['client_id']}", 204)
    await deliver(crm, publisher, js, reply(second, text="Too late."))
    assert "Too late." not in [r["text"] for r in await call(crm, who, "GET", "/replies")]


async def test_drafts_awaiting_approval_are_held_when_the_client_replies(
    crm: Crm, publisher: EventPublisher, js: nats.js.JetStreamContext
) -> None:
    who, task = await sent_task(crm, publisher)
    waiting = await add_task(crm.http, who, task["client_id"])
    await publish_tick(publisher)
    waiting = await wait_task_status(crm.http, who, waiting["id"], "composing")
    draft = composed(waiting, who, send_mode="approval")
    await publisher.publish(draft, event_id=str(uuid.uuid4()))
    await wait_task_status(crm.http, who, waiting["id"], "awaiting_approval")
    _, elsewhere = await claimed_task(crm, publisher, who)  # another client's draft
    other_draft = composed(elsewhere, who, send_mode="approval")
    await publisher.publish(other_draft, event_id=str(uuid.uuid4()))
    await wait_task_status(crm.http, who, elsewhere["id"], "awaiting_approval")
    await deliver(crm, publisher, js, reply(task))
    assert (await call(crm, who, "GET", f"/tasks/{waiting['id']}/draft"))["held_at"] is not None
    assert (await call(crm, who, "GET", f"/tasks/{elsewhere['id']}/draft"))["held_at"] is None


async def test_the_next_task_due_carries_the_latest_reply(
    crm: Crm, publisher: EventPublisher, js: nats.js.JetStreamContext
) -> None:
    who, task = await sent_task(crm, publisher)
    await deliver(crm, publisher, js, reply(task, text="Only weekends work for me."))
    later = await add_task(crm.http, who, task["client_id"])
    await publish_tick(publisher)
    later = await wait_task_status(crm.http, who, later["id"], "composing")
    ns = crm.state.bus.ns

    async def task_due() -> list[TaskDue]:
        found = await stream_messages(js, ns.stream_name("crm"), ns.subject(TaskDue))
        events = [TaskDue.model_validate_json(m.data or b"{}") for m in found]
        return [e for e in events if str(e.task_id) == later["id"]]

    [event] = await eventually(task_due, timeout=30, what="the TaskDue of the next task")
    assert event.latest_reply is not None
    assert "Only weekends work for me." in event.latest_reply


async def test_an_agent_who_wants_replies_directly_gets_no_reply_detection(
    crm: Crm, publisher: EventPublisher, js: nats.js.JetStreamContext
) -> None:
    who = await sign_up(crm.http)
    assert (await call(crm, who, "GET", "/me"))["replies_to_me"] is False
    await call(crm, who, "PATCH", "/me", json={"replies_to_me": True})
    _, direct = await claimed_task(crm, publisher, who)
    _, detected = await claimed_task(crm, publisher)
    ns = crm.state.bus.ns

    async def deliveries() -> dict[str, bool] | None:
        found = await stream_messages(js, ns.stream_name("crm"), ns.subject(TaskDue))
        events = [TaskDue.model_validate_json(m.data or b"{}") for m in found]
        by_task = {str(e.task_id): e.delivery.detect_replies for e in events}
        return by_task if {direct["id"], detected["id"]} <= set(by_task) else None

    found = await eventually(deliveries, timeout=30, what="both TaskDue events")
    assert (found[direct["id"]], found[detected["id"]]) == (False, True)


async def held_events(crm: Crm, js: nats.js.JetStreamContext) -> dict[str, EmailHeld]:
    ns = crm.state.bus.ns
    found = await stream_messages(js, ns.stream_name("crm"), ns.subject(EmailHeld))
    events = [EmailHeld.model_validate_json(m.data or b"{}") for m in found]
    return {str(e.email_id): e for e in events}


async def test_a_reply_holds_the_emails_being_written_or_queued_and_the_mailer_is_told(
    crm: Crm, publisher: EventPublisher, js: nats.js.JetStreamContext
) -> None:
    who, task = await sent_task(crm, publisher)
    writing = await add_task(crm.http, who, task["client_id"])
    queued = await add_task(crm.http, who, task["client_id"])
    await publish_tick(publisher)
    writing = await wait_task_status(crm.http, who, writing["id"], "composing")
    queued = await wait_task_status(crm.http, who, queued["id"], "composing")
    # composed (automatic) before the reply: on its way to the mailer
    await publisher.publish(composed(queued, who), event_id=str(uuid.uuid4()))
    await wait_task_status(crm.http, who, queued["id"], "sending")
    await deliver(crm, publisher, js, reply(task))
    queued_draft = await call(crm, who, "GET", f"/tasks/{queued['id']}/draft")
    assert (queued_draft["status"], queued_draft["held_at"] is not None) == (
        "awaiting_approval",
        True,
    )
    held = await eventually(
        lambda: _both(held_events(crm, js), writing, queued), timeout=30, what="EmailHeld"
    )
    assert held[writing["email"]["id"]].reason == "client replied"
    assert str(held[queued["email"]["id"]].task_id) == queued["id"]
    # the automatic draft composed after the reply waits for the agent
    await publisher.publish(composed(writing, who), event_id=str(uuid.uuid4()))
    await wait_task_status(crm.http, who, writing["id"], "awaiting_approval")
    kinds = {a.summary for a in await activities(crm, task["client_id"])}
    assert any("held: the client replied" in summary for summary in kinds)


async def _both(found: Any, *tasks: dict[str, Any]) -> dict[str, EmailHeld] | None:
    events: dict[str, EmailHeld] = await found
    return events if all(t["email"]["id"] in events for t in tasks) else None


async def test_a_held_draft_is_approved_only_with_send_anyway(
    crm: Crm, publisher: EventPublisher, js: nats.js.JetStreamContext
) -> None:
    who, task = await sent_task(crm, publisher)
    waiting = await add_task(crm.http, who, task["client_id"])
    await publish_tick(publisher)
    waiting = await wait_task_status(crm.http, who, waiting["id"], "composing")
    await publisher.publish(
        composed(waiting, who, send_mode="approval"), event_id=str(uuid.uuid4())
    )
    await wait_task_status(crm.http, who, waiting["id"], "awaiting_approval")
    await deliver(crm, publisher, js, reply(task))
    url = f"/tasks/{waiting['id']}/draft/approve"
    refused = await crm.http.post(url, headers=who.headers)
    assert refused.status_code == 409, refused.text
    detail = refused.json()["detail"]
    assert "client replied on" in detail
    assert "resume the plan or send this anyway" in detail
    assert (await call(crm, who, "GET", f"/tasks/{waiting['id']}"))["status"] == "awaiting_approval"
    sending = await call(crm, who, "POST", f"{url}?send_anyway=true")
    assert sending["status"] == "sending"
    ns = crm.state.bus.ns

    async def approved() -> list[tuple[str, EmailApproved]]:
        found = await stream_messages(js, ns.stream_name("crm"), ns.subject(EmailApproved))
        return [
            ((m.headers or {}).get(H_ID, ""), EmailApproved.model_validate_json(m.data or b""))
            for m in found
            if waiting["email"]["id"].encode() in (m.data or b"")
        ]

    [(event_id, event)] = await eventually(approved, timeout=30, what="EmailApproved")
    assert event.override_hold is True
    assert event_id.startswith(f"approved:{waiting['email']['id']}:anyway:")
