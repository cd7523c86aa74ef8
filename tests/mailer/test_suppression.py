"""The suppression set: an address that unsubscribed (ClientUnsubscribed from the CRM),
bounced hard or complained is never emailed again; the email is reported skipped."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path

from nats.aio.client import Client as NatsClient

from realtoros_contracts import ClientUnsubscribed, EmailFailed, EmailSent, Namespace
from realtoros_mailer.handlers import UNSUBSCRIBED_DURABLE
from realtoros_mailer.suppression import suppression_key
from tests.mailer.helpers import (
    composed,
    delivery,
    mailer_events,
    names_in,
    publish,
    run_mailer,
    settings_for,
    wait_event,
)
from tests.support.streams import wait_consumed


async def test_unsubscribed_address_is_skipped_not_sent(
    nats_url: str, namespace: Namespace, nats_client: NatsClient, tmp_path: Path
) -> None:
    js = nats_client.jetstream()
    unsubscribed = ClientUnsubscribed(
        agent_id=uuid.uuid4(),
        client_id=uuid.uuid4(),
        email="Jane.Buyer@Example.com",  # as the client typed it once
        source="one-click",
        unsubscribed_at=datetime.now(UTC),
    )
    to_jane = composed(delivery=delivery(to_email="jane.buyer@example.com"))
    to_someone_else = composed(delivery=delivery(to_email="sam.seller@example.com"))
    async with run_mailer(settings_for(nats_url, namespace, mail_outbox_dir=tmp_path)) as mailer:
        ack = await publish(js, namespace, unsubscribed)
        await wait_consumed(js, namespace.stream_name("crm"), UNSUBSCRIBED_DURABLE, ack.seq)
        await publish(js, namespace, to_jane)
        await publish(js, namespace, to_someone_else)
        skipped = await wait_event(js, namespace, EmailFailed, to_jane.email_id)
        await wait_event(js, namespace, EmailSent, to_someone_else.email_id)
        again = await publish(js, namespace, to_jane)  # a redelivery reports the same
        await wait_consumed(
            js, namespace.stream_name("composer"), "mailer-email-composed", again.seq
        )
        metrics = mailer.metrics.render().decode()

    assert skipped.outcome == "skipped"
    assert skipped.reason == "address suppressed: unsubscribed"
    assert names_in(tmp_path) == [f"{to_someone_else.email_id}.eml"]
    assert len(await mailer_events(js, namespace, EmailFailed)) == 1
    assert 'realtoros_mailer_emails_total{outcome="skipped"} 1.0' in metrics
    # The bucket holds a hash, never the address itself.
    kv = await js.key_value(namespace.bucket("suppression"))
    assert await kv.keys() == [suppression_key("jane.buyer@example.com")]
    assert "example" not in str(await kv.keys())
