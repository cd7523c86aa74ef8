"""The provider's reports land on the email, the task, the timeline and the client, once
per event; a hard bounce or a complaint unsubscribes the client, stops their plans and
emits ClientUnsubscribed."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import nats.js

from realtoros_contracts import (
    ClientUnsubscribed,
    EmailBounced,
    EmailClicked,
    EmailComplained,
    EmailDelivered,
    EmailDeliveryDelayed,
    EmailOpened,
    EmailRejected,
    Event,
)
from realtoros_runtime.publisher import EventPublisher
from tests.crm.helpers import (
    Crm,
    SignedIn,
    add_client,
    add_task,
    publish_tick,
    sign_up,
    wait_task_status,
)
from tests.crm.plan_support import call
from tests.crm.test_consumers import composed, ids, publish_copy, sent
from tests.crm.test_drafts import on_stream
from tests.support.streams import wait_consumed

T0 = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)


async def sent_email(
    crm: Crm, publisher: EventPublisher, who: SignedIn, client: dict[str, Any]
) -> dict[str, Any]:
    """A task through claim, draft and send (the composer's and mailer's events)."""
    task = await add_task(crm.http, who, client["id"])
    await publish_tick(publisher)
    task = await wait_task_status(crm.http, who, task["id"], "composing")
    await publisher.publish(composed(task, who), event_id=str(uuid.uuid4()))
    await wait_task_status(crm.http, who, task["id"], "sending")
    await publisher.publish(sent(task, who, T0), event_id=str(uuid.uuid4()))
    return await wait_task_status(crm.http, who, task["id"], "sent")


async def deliver(
    crm: Crm, publisher: EventPublisher, js: nats.js.JetStreamContext, event: Event
) -> str:
    event_id = str(uuid.uuid4())
    await publisher.publish(event, event_id=event_id)
    stream = crm.state.bus.ns.stream_for(event).name
    await wait_consumed(js, stream, f"crm-email-{event.ACTION}")
    return event_id


def provider(task: dict[str, Any], who: SignedIn, minutes: int) -> dict[str, Any]:
    at = T0 + timedelta(minutes=minutes)
    return {**ids(task, who), "provider_message_id": "ses-1", "occurred_at": at}


async def test_delivery_opens_and_clicks_are_counted_once_each(
    crm: Crm, publisher: EventPublisher, js: nats.js.JetStreamContext
) -> None:
    who = await sign_up(crm.http)
    client = await add_client(crm.http, who)
    task = await sent_email(crm, publisher, who, client)
    await deliver(crm, publisher, js, EmailDelivered(**provider(task, who, 1)))
    await deliver(crm, publisher, js, EmailDeliveryDelayed(**provider(task, who, 1)))
    first_open = EmailOpened(**provider(task, who, 30))
    first_id = await deliver(crm, publisher, js, first_open)
    await publish_copy(publisher, first_open, first_id, "again")  # a redelivery: ignored
    await deliver(crm, publisher, js, EmailOpened(**provider(task, who, 90)))
    click = EmailClicked(**provider(task, who, 91), link="https://homes.example/12-elm")
    await deliver(crm, publisher, js, click)
    email = await call(crm, who, "GET", f"/emails/{task['email']['id']}")
    assert email["delivered_at"] == "2026-11-25T15:01:00Z"
    assert (email["first_opened_at"], email["open_count"]) == ("2026-11-25T15:30:00Z", 2)
    assert (email["first_clicked_at"], email["click_count"]) == ("2026-11-25T16:31:00Z", 1)
    assert email["delivery_delayed_at"] == "2026-11-25T15:01:00Z"
    timeline = await call(crm, who, "GET", f"/clients/{client['id']}/timeline")
    summaries = [entry["summary"] for entry in timeline]
    assert "Email delivered: Checking in" in summaries
    assert summaries.count("Email opened: Checking in") == 1
    assert "Link clicked in 'Checking in': https://homes.example/12-elm" in summaries
    refreshed = await call(crm, who, "GET", f"/clients/{client['id']}")
    assert refreshed["last_contacted_at"] == "2026-11-25T15:01:00Z"


async def test_a_hard_bounce_unsubscribes_the_client_and_stops_their_plans(
    crm: Crm, publisher: EventPublisher, js: nats.js.JetStreamContext
) -> None:
    who = await sign_up(crm.http)
    client = await add_client(crm.http, who)
    [standard] = [p for p in await call(crm, who, "GET", "/plans") if p["builtin"]]
    body = {"plan_id": standard["id"]}
    run = await call(crm, who, "POST", f"/clients/{client['id']}/plans", 201, json=body)
    task = await sent_email(crm, publisher, who, client)
    soft = EmailBounced(
        **provider(task, who, 1), bounce_type="transient", diagnostic="mailbox full"
    )
    await deliver(crm, publisher, js, soft)
    assert (await call(crm, who, "GET", f"/clients/{client['id']}"))["unsubscribed"] is False
    hard = EmailBounced(
        **provider(task, who, 2),
        bounce_type="permanent",
        bounce_subtype="General",
        diagnostic="550 5.1.1 user unknown",
    )
    await deliver(crm, publisher, js, hard)
    assert (await call(crm, who, "GET", f"/clients/{client['id']}"))["unsubscribed"] is True
    bounced = await call(crm, who, "GET", f"/tasks/{task['id']}")
    assert bounced["status"] == "failed"
    assert bounced["failure_reason"] == "bounced: the email address does not exist"
    assert bounced["email"]["bounce_type"] == "permanent"
    stopped = await call(crm, who, "GET", f"/plan-runs/{run['id']}")
    assert stopped["status"] == "stopped"
    steps = await call(crm, who, "GET", f"/tasks?plan_run_id={run['id']}")
    assert {t["status"] for t in steps} == {"cancelled"}
    [(_, data)] = await on_stream(crm, js, ClientUnsubscribed)
    event = ClientUnsubscribed.model_validate_json(data)
    assert (str(event.client_id), event.source) == (client["id"], "bounce")
    assert event.email == client["email"]


async def test_a_complaint_unsubscribes_and_a_rejection_fails_the_email(
    crm: Crm, publisher: EventPublisher, js: nats.js.JetStreamContext
) -> None:
    who = await sign_up(crm.http)
    client, other = await add_client(crm.http, who), await add_client(crm.http, who)
    task = await sent_email(crm, publisher, who, client)
    await deliver(crm, publisher, js, EmailComplained(**provider(task, who, 5)))
    [(_, data)] = await on_stream(crm, js, ClientUnsubscribed)
    assert ClientUnsubscribed.model_validate_json(data).source == "complaint"
    email = await call(crm, who, "GET", f"/emails/{task['email']['id']}")
    assert email["complained_at"] == "2026-11-25T15:05:00Z"
    feed = await call(crm, who, "GET", f"/activity?client_id={client['id']}")
    assert feed[0]["client_name"] == client["name"]
    assert any(i["summary"] == "The client marked 'Checking in' as spam" for i in feed)
    assert all(item["summary"] for item in feed)  # no blank rows (old bug 7)
    rejected_task = await sent_email(crm, publisher, who, other)
    rejected = EmailRejected(**provider(rejected_task, who, 1), reason="Bad content")
    await deliver(crm, publisher, js, rejected)
    result = await call(crm, who, "GET", f"/tasks/{rejected_task['id']}")
    assert result["status"] == "failed"
    assert result["failure_reason"] == "rejected by the provider: Bad content"
