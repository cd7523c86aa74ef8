"""A malformed message is dead-lettered with its reason and the mailer keeps serving."""

from __future__ import annotations

import json
from pathlib import Path

from nats.aio.client import Client as NatsClient

from realtoros_contracts import EmailSent, Namespace, encode, envelope_headers
from tests.mailer.helpers import (
    composed,
    names_in,
    publish,
    publish_raw,
    run_mailer,
    settings_for,
    wait_event,
)
from tests.support.streams import Stored, stream_messages
from tests.support.waiting import eventually


async def test_malformed_messages_are_dead_lettered_and_the_mailer_keeps_serving(
    nats_url: str, namespace: Namespace, nats_client: NatsClient, tmp_path: Path
) -> None:
    js = nats_client.jetstream()
    subject = namespace.subject(composed())
    stream = namespace.stream_name("composer")
    template = composed()
    schema_invalid = template.model_dump(mode="json") | {"body_text": ""}

    def headers(event_id: str) -> dict[str, str]:
        return envelope_headers(template, event_id=event_id, source="test/composer")

    good = composed()
    async with run_mailer(settings_for(nats_url, namespace, mail_outbox_dir=tmp_path)):
        await publish_raw(js, subject, stream, b"{not json", headers("bad-json"))
        await publish_raw(js, subject, stream, json.dumps(schema_invalid).encode(), headers("bad"))
        await publish_raw(js, subject, stream, encode(template), {"Nats-Msg-Id": "no-envelope"})
        await publish(js, namespace, good)
        await wait_event(js, namespace, EmailSent, good.email_id)

        async def three_dead_letters() -> list[Stored] | None:
            found = await stream_messages(js, namespace.stream_name("deadletter"))
            return found if len(found) == 3 else None

        dead = await eventually(three_dead_letters, what="three dead letters")

    assert {d.subject for d in dead} == {namespace.dead_letter_subject("mailer")}
    assert {d.headers["x-dead-letter-service"] for d in dead} == {"mailer"}
    reasons = [d.headers["x-dead-letter-reason"] for d in dead]
    assert reasons[0].startswith("invalid event body")
    assert "body_text" in reasons[1]
    assert reasons[2].startswith("invalid envelope: missing CloudEvents header")
    assert names_in(tmp_path) == [f"{good.email_id}.eml"]
