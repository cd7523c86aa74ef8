"""The composer's and the mailer's events recorded on the email, its task and the client,
once per event id whatever the redeliveries, in whatever order they arrive."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import nats.js
from sqlalchemy import select

from realtoros_contracts import (
    ComposeFailed,
    DeliveryContext,
    EmailComposed,
    EmailFailed,
    EmailSent,
    Event,
    envelope_headers,
)
from realtoros_crm.activities.models import Activity
from realtoros_crm.consumers import COMPOSED_DURABLE, SENT_DURABLE
from realtoros_runtime.publisher import EventPublisher
from tests.crm.helpers import Crm, SignedIn, claimed_task, get_task, sign_up, wait_task_status
from tests.support.streams import wait_consumed


def ids(task: dict[str, Any], who: SignedIn) -> dict[str, Any]:
    return {
        "email_id": task["email"]["id"],
        "task_id": task["id"],
        "agent_id": who.agent["id"],
        "client_id": task["client_id"],
    }


def composed(task: dict[str, Any], who: SignedIn, **fields: Any) -> EmailComposed:
    delivery = DeliveryContext(
        to_email="c@example.org",
        to_name="C",
        from_name="A",
        reply_to="a@example.com",
        send_mode=fields.pop("send_mode", "automatic"),
        signature=fields.pop("signature", "A"),
        postal_address=fields.pop("postal_address", "1 Main St, Springfield"),
    )
    return EmailComposed(
        **ids(task, who),
        subject="Checking in",
        body_text="Hello!",
        composer="llm",
        model="gpt-test",
        delivery=delivery,
        **fields,
    )


def sent(task: dict[str, Any], who: SignedIn, at: datetime) -> EmailSent:
    return EmailSent(**ids(task, who), provider_message_id="ses-1", transport="ses", sent_at=at)


async def publish_copy(publisher: EventPublisher, event: Event, event_id: str, copy: str) -> None:
    """The same event (same ce-id) under another Nats-Msg-Id: a redelivery JetStream cannot
    de-duplicate, as after the duplicate window or a re-publish by a restarted producer."""
    headers = envelope_headers(event, event_id=event_id, source="realtoros/mailer")
    headers["Nats-Msg-Id"] = f"{event_id}:{copy}"
    ns = publisher.namespace
    await publisher.publish_raw(
        ns.subject(event),
        event.model_dump_json().encode(),
        headers,
        stream=ns.stream_for(event).name,
    )


async def activities(crm: Crm, client_id: str) -> list[Activity]:
    async with crm.state.sessions() as session:
        query = select(Activity).where(
            Activity.client_id == uuid.UUID(client_id), Activity.kind != "client_created"
        )
        return list((await session.scalars(query.order_by(Activity.occurred_at))).all())


async def test_the_same_email_sent_twice_has_one_effect(
    crm: Crm, publisher: EventPublisher, js: nats.js.JetStreamContext
) -> None:
    who, task = await claimed_task(crm, publisher)
    at = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=5)
    event = sent(task, who, at)
    event_id = f"sent:{task['email']['id']}"
    await publish_copy(publisher, event, event_id, "first")
    await publish_copy(publisher, event, event_id, "second")
    await wait_consumed(js, crm.state.bus.ns.stream_for(event).name, SENT_DURABLE)

    done = await get_task(crm.http, who, task["id"])
    assert done["status"] == "sent"
    assert done["email"]["status"] == "sent"
    assert done["email"]["provider_message_id"] == "ses-1"
    assert datetime.fromisoformat(done["email"]["sent_at"]) == at
    client = (await crm.http.get(f"/clients/{task['client_id']}", headers=who.headers)).json()
    assert datetime.fromisoformat(client["last_contacted_at"]) == at
    kinds = [a.kind for a in await activities(crm, task["client_id"])]
    assert kinds == ["email_sent"]


async def test_a_draft_goes_to_sending_or_waits_for_approval(
    crm: Crm, publisher: EventPublisher
) -> None:
    who = await sign_up(crm.http)
    _, automatic = await claimed_task(crm, publisher, who)
    _, flagged = await claimed_task(crm, publisher, who)
    _, approval = await claimed_task(crm, publisher, who)
    await publisher.publish(composed(automatic, who), event_id="composed:1")
    await publisher.publish(
        composed(flagged, who, needs_review=True, review_reasons=["fair-housing"]),
        event_id="composed:2",
    )
    await publisher.publish(composed(approval, who, send_mode="approval"), event_id="composed:3")

    sending = await wait_task_status(crm.http, who, automatic["id"], "sending")
    assert sending["email"]["subject"] == "Checking in"
    assert sending["email"]["body_text"] == "Hello!"
    assert sending["email"]["composer"] == "llm"
    held = await wait_task_status(crm.http, who, flagged["id"], "awaiting_approval")
    assert held["email"]["review_reasons"] == ["fair-housing"]
    await wait_task_status(crm.http, who, approval["id"], "awaiting_approval")
    summaries = [a.summary for a in await activities(crm, flagged["client_id"])]
    assert summaries == ["Email drafted: Checking in (needs review: fair-housing)"]


async def test_a_draft_of_an_agent_without_a_postal_address_waits_with_the_reason(
    crm: Crm, publisher: EventPublisher
) -> None:
    who = await sign_up(crm.http, postal_address="")
    _, task = await claimed_task(crm, publisher, who)
    await publisher.publish(composed(task, who, postal_address=""), event_id="composed:bare")
    held = await wait_task_status(crm.http, who, task["id"], "awaiting_approval")
    [reason] = held["email"]["review_reasons"]
    assert reason.startswith("Not sent automatically: add a postal address in Settings")
    approve = await crm.http.post(f"/tasks/{task['id']}/draft/approve", headers=who.headers)
    assert approve.status_code == 409
    assert "add a postal address in Settings" in approve.json()["detail"]


async def test_failures_are_recorded_and_a_late_draft_does_not_undo_a_send(
    crm: Crm, publisher: EventPublisher, js: nats.js.JetStreamContext
) -> None:
    who = await sign_up(crm.http)
    _, unknown = await claimed_task(crm, publisher, who)
    _, uncomposed = await claimed_task(crm, publisher, who)
    _, late = await claimed_task(crm, publisher, who)
    now = datetime.now(UTC)
    failure = EmailFailed(
        **ids(unknown, who), outcome="unknown", reason="SES timed out", failed_at=now
    )
    await publisher.publish(failure, event_id="failed:1")
    gave_up = ComposeFailed(**ids(uncomposed, who), reason="LLM unavailable", attempts=5)
    await publisher.publish(gave_up, event_id="compose-failed:1")
    await publisher.publish(sent(late, who, now), event_id="sent:late")
    await wait_task_status(crm.http, who, late["id"], "sent")
    await publisher.publish(composed(late, who), event_id="composed:late")

    flagged = await wait_task_status(crm.http, who, unknown["id"], "unknown")
    assert flagged["failure_reason"] == "SES timed out"
    assert flagged["email"]["status"] == "unknown"
    failed = await wait_task_status(crm.http, who, uncomposed["id"], "failed")
    assert "LLM unavailable" in failed["failure_reason"]
    await wait_consumed(js, crm.state.bus.ns.stream_for(EmailComposed).name, COMPOSED_DURABLE)
    still_sent = await get_task(crm.http, who, late["id"])
    assert still_sent["status"] == "sent"
    assert still_sent["email"]["subject"] == "Checking in"


async def test_events_about_unknown_emails_are_acked_and_change_nothing(
    crm: Crm, publisher: EventPublisher, js: nats.js.JetStreamContext
) -> None:
    who, task = await claimed_task(crm, publisher)
    stranger = {**task, "email": {"id": str(uuid.uuid4())}}
    await publisher.publish(sent(stranger, who, datetime.now(UTC)), event_id="sent:stranger")
    other_agent = SignedIn({"id": str(uuid.uuid4())}, {})
    await publisher.publish(sent(task, other_agent, datetime.now(UTC)), event_id="sent:spoof")
    await wait_consumed(js, crm.state.bus.ns.stream_name("mailer"), SENT_DURABLE)
    assert (await get_task(crm.http, who, task["id"]))["status"] == "composing"
    dead = await js.stream_info(crm.state.bus.ns.dead_letter_stream().name)
    assert dead.state.messages == 0
