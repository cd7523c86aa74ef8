"""A malformed message on a subject the CRM consumes is dead-lettered with the reason, and
the consumer goes on with the next message."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

import nats.js

from realtoros_contracts import EmailSent, envelope_headers
from realtoros_runtime.consuming import H_DL_REASON, H_DL_SERVICE
from realtoros_runtime.publisher import EventPublisher
from tests.crm.helpers import Crm, SignedIn, claimed_task, wait_task_status
from tests.support.streams import Stored, stream_messages
from tests.support.waiting import eventually


def sent_event(task: dict[str, Any], who: SignedIn) -> EmailSent:
    return EmailSent(
        email_id=task["email"]["id"],
        task_id=task["id"],
        agent_id=who.agent["id"],
        client_id=task["client_id"],
        provider_message_id="ses-42",
        transport="ses",
        sent_at=datetime.now(UTC),
    )


async def test_malformed_messages_are_dead_lettered_and_the_next_one_is_served(
    crm: Crm, publisher: EventPublisher, js: nats.js.JetStreamContext
) -> None:
    who, task = await claimed_task(crm, publisher)
    ns = crm.state.bus.ns
    event = sent_event(task, who)
    subject, stream = ns.subject(EmailSent), ns.stream_for(EmailSent).name

    def headers(event_id: str) -> dict[str, str]:
        return envelope_headers(event, event_id=event_id, source="realtoros/mailer")

    schema_invalid = json.loads(event.model_dump_json()) | {"transport": "pigeon"}
    bad = [
        (b"{not json", headers("bad-json")),
        (json.dumps(schema_invalid).encode(), headers("bad-schema")),
        (event.model_dump_json().encode(), {"Nats-Msg-Id": "no-envelope"}),
    ]
    for body, hdrs in bad:
        await publisher.publish_raw(subject, body, hdrs, stream=stream)
    await publisher.publish(event, event_id=f"sent:{uuid.uuid4()}")

    done = await wait_task_status(crm.http, who, task["id"], "sent")
    assert done["email"]["provider_message_id"] == "ses-42"

    dead_stream, dead_subject = ns.dead_letter_stream().name, ns.dead_letter_subject("crm")

    async def three_dead_letters() -> list[Stored] | None:
        letters = await stream_messages(js, dead_stream, dead_subject)
        return letters if len(letters) >= 3 else None

    letters = await eventually(three_dead_letters, what="3 dead letters")
    assert len(letters) == 3
    reasons = [(letter.headers or {})[H_DL_REASON] for letter in letters]
    assert all((letter.headers or {})[H_DL_SERVICE] == "crm" for letter in letters)
    assert [letter.data for letter in letters] == [body for body, _ in bad]
    assert "invalid event body" in reasons[0]
    assert "transport" in reasons[1]
    assert "missing CloudEvents header" in reasons[2]
