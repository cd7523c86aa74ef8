"""Drafts in approval mode: held until the agent approves, sent exactly as edited (the
EmailApproved on the stream carries the saved text); regenerate and on-demand drafts go
out as DraftRequested through the outbox."""

from __future__ import annotations

import html
import uuid
from typing import Any

import nats.js
from sqlalchemy import update

from realtoros_contracts import DraftRequested, EmailApproved, Event
from realtoros_contracts.envelope import H_ID
from realtoros_crm.clients.models import Client
from realtoros_runtime.publisher import EventPublisher
from tests.crm.helpers import (
    PASSWORD,
    Crm,
    SignedIn,
    add_client,
    claimed_task,
    sign_up,
    wait_task_status,
)
from tests.crm.plan_support import call
from tests.crm.test_consumers import composed
from tests.support.streams import stream_messages
from tests.support.waiting import eventually
from tests.web.support import csrf_of

EDITED_BODY = "Hi Carla,\n\n  The garden *is* lovely — <b>really</b>.\r\n\n\tTalk soon\n"


async def on_stream(
    crm: Crm, js: nats.js.JetStreamContext, event_cls: type[Event], count: int = 1
) -> list[tuple[dict[str, str], bytes]]:
    ns = crm.state.bus.ns

    async def check() -> list[tuple[dict[str, str], bytes]] | None:
        stream = ns.stream_for(event_cls).name
        if (await js.stream_info(stream)).state.messages == 0:
            return None
        messages = await stream_messages(js, stream, ns.subject(event_cls))
        found = [(dict(m.headers or {}), m.data or b"") for m in messages]
        return found if len(found) >= count else None

    return await eventually(check, what=f"{count} {event_cls.__name__} on the stream")


async def held_draft(
    crm: Crm, publisher: EventPublisher, **agent: Any
) -> tuple[SignedIn, dict[str, Any]]:
    who = await sign_up(crm.http, send_mode="approval", **agent)
    who, task = await claimed_task(crm, publisher, who, name="Carla Client", notes="Loves gardens")
    await publisher.publish(composed(task, who, send_mode="approval"), event_id=str(uuid.uuid4()))
    return who, await wait_task_status(crm.http, who, task["id"], "awaiting_approval")


async def test_a_draft_is_sent_only_after_approval_and_exactly_as_edited(
    crm: Crm, publisher: EventPublisher, js: nats.js.JetStreamContext
) -> None:
    who, task = await held_draft(crm, publisher)
    url = f"/tasks/{task['id']}/draft"
    draft = await call(crm, who, "GET", url)
    assert (draft["status"], draft["subject"], draft["body_text"]) == (
        "awaiting_approval",
        "Checking in",
        "Hello!",
    )
    ns = crm.state.bus.ns
    approved_subject = ns.subject(EmailApproved)
    assert await stream_messages(js, ns.stream_name("crm"), approved_subject) == []
    edit = {"subject": "About the garden", "body_text": EDITED_BODY}
    saved = await call(crm, who, "PATCH", url, json=edit)
    assert saved["body_text"] == EDITED_BODY
    assert saved["edited_at"] is not None
    assert (await call(crm, who, "GET", url))["body_text"] == EDITED_BODY
    for bad in ({"subject": "two\nlines"}, {"body_text": ""}, {"subject": "x" * 301}):
        response = await crm.http.patch(url, json=bad, headers=who.headers)
        assert response.status_code == 422, bad
    sending = await call(crm, who, "POST", f"{url}/approve")
    assert sending["status"] == "sending"
    [(headers, body)] = await on_stream(crm, js, EmailApproved)
    approved = EmailApproved.model_validate_json(body)
    assert headers[H_ID] == f"approved:{task['email']['id']}"
    assert (approved.subject, approved.body_text) == ("About the garden", EDITED_BODY)
    assert str(approved.email_id) == task["email"]["id"]
    assert approved.delivery.reply_to == who.agent["email"]
    assert (await call(crm, who, "GET", f"/tasks/{task['id']}"))["status"] == "sending"
    await call(crm, who, "POST", f"{url}/approve", 409)  # once
    await call(crm, who, "PATCH", url, 409, json={"subject": "too late"})


async def test_regenerate_asks_the_composer_again_and_the_new_draft_replaces_the_old(
    crm: Crm, publisher: EventPublisher, js: nats.js.JetStreamContext
) -> None:
    who, task = await held_draft(crm, publisher)
    url = f"/tasks/{task['id']}/draft"
    extra = {"instructions": "Mention the open house on Sunday"}
    regenerating = await call(crm, who, "POST", f"{url}/regenerate", 202, json=extra)
    assert regenerating["status"] == "composing"
    [(_, body)] = await on_stream(crm, js, DraftRequested)
    request = DraftRequested.model_validate_json(body)
    assert request.regenerate is True
    assert str(request.email_id) == task["email"]["id"]
    assert request.instructions is not None
    assert "open house on Sunday" in request.instructions
    assert request.delivery.send_mode == "approval"
    assert request.client.name == "Carla Client"
    new = composed(task, who, send_mode="approval").model_copy(
        update={"subject": "Open house Sunday"}
    )
    await publisher.publish(new, event_id=str(uuid.uuid4()))
    await wait_task_status(crm.http, who, task["id"], "awaiting_approval")
    assert (await call(crm, who, "GET", url))["subject"] == "Open house Sunday"
    skipped = await call(crm, who, "POST", f"{url}/skip")
    assert skipped["status"] == "skipped"
    assert (await call(crm, who, "GET", url))["status"] == "skipped"


async def test_an_on_demand_draft_is_requested_at_once_with_the_clients_context(
    crm: Crm, publisher: EventPublisher, js: nats.js.JetStreamContext
) -> None:
    who = await sign_up(crm.http)  # automatic mode: an on-demand draft is still held
    client = await add_client(crm.http, who, name="Dora Doe", notes="Two kids, wants a yard")
    body = {"instructions": "Ask how the school visit went"}
    accepted = await call(crm, who, "POST", f"/clients/{client['id']}/drafts", 202, json=body)
    assert accepted["llm"] == "unknown"  # no draft composed yet: the warning is conditional
    assert accepted["warning"].startswith("Without an LLM (OPENAI_API_KEY for the composer)")
    [(headers, data)] = await on_stream(crm, js, DraftRequested)
    request = DraftRequested.model_validate_json(data)
    assert str(request.email_id) == accepted["email_id"]
    assert str(request.task_id) == accepted["task_id"]
    assert request.regenerate is False
    assert (request.purpose, request.instructions) == ("On demand", body["instructions"])
    assert (request.client.name, request.client.notes) == ("Dora Doe", "Two kids, wants a yard")
    assert request.agent.name == "Ada Agent"
    assert request.delivery.send_mode == "approval"
    assert headers[H_ID].startswith(f"draft:{accepted['email_id']}:")
    email = await call(crm, who, "GET", f"/emails/{accepted['email_id']}")
    assert email["status"] == "composing"
    task = await call(crm, who, "GET", f"/tasks/{accepted['task_id']}")
    await publisher.publish(
        composed(task, who, send_mode=request.delivery.send_mode), event_id=str(uuid.uuid4())
    )

    async def drafted() -> dict[str, Any] | None:
        email = await call(crm, who, "GET", f"/emails/{accepted['email_id']}")
        return email if email["status"] == "awaiting_approval" else None

    assert (await eventually(drafted, what="the on-demand draft"))["subject"] == "Checking in"
    again = await call(crm, who, "POST", f"/clients/{client['id']}/drafts", 202, json=body)
    assert (again["llm"], again["warning"]) == ("in_use", None)  # the LLM wrote the last one
    other = await sign_up(crm.http)
    await call(crm, other, "POST", f"/clients/{client['id']}/drafts", 404, json=body)
    await call(crm, other, "GET", f"/emails/{accepted['email_id']}", 404)
    async with crm.state.sessions() as session, session.begin():
        await session.execute(
            update(Client).where(Client.id == uuid.UUID(client["id"])).values(unsubscribed=True)
        )
    await call(crm, who, "POST", f"/clients/{client['id']}/drafts", 409, json=body)


HELD_FOR = "the draft had a phone number that is not the agent's (removed)"


async def test_in_approval_mode_the_agent_sees_why_a_draft_is_held(
    crm: Crm, publisher: EventPublisher
) -> None:
    """The composer's reason (a removed contact detail) reaches the agent: in the API's
    draft and on the web app's draft page, not only a bare "awaiting approval"."""
    who = await sign_up(crm.http, send_mode="approval")
    who, task = await claimed_task(crm, publisher, who, name="Carla Client")
    event = composed(task, who, send_mode="approval", needs_review=True, review_reasons=[HELD_FOR])
    await publisher.publish(event, event_id=str(uuid.uuid4()))
    await wait_task_status(crm.http, who, task["id"], "awaiting_approval")

    draft = (await crm.http.get(f"/tasks/{task['id']}/draft", headers=who.headers)).json()
    assert (draft["needs_review"], draft["review_reasons"]) == (True, [HELD_FOR])
    login = await crm.http.get("/app/login")
    form = {"csrf": csrf_of(login.text), "email": who.agent["email"], "password": PASSWORD}
    assert (await crm.http.post("/app/login", data=form)).status_code == 303
    page = await crm.http.get(f"/app/drafts/{task['id']}")
    assert "Needs review: " + HELD_FOR in html.unescape(page.text)
