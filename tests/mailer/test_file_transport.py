"""The local transport: one parseable .eml per email in the outbox."""

from __future__ import annotations

from email import message_from_bytes
from email.policy import default
from pathlib import Path

from nats.aio.client import Client as NatsClient

from realtoros_contracts import EmailSent, Namespace
from realtoros_mailer.settings import DEFAULT_FILE_FROM
from tests.mailer.helpers import (
    composed,
    names_in,
    part_text,
    publish,
    run_mailer,
    settings_for,
    wait_event,
)


async def test_file_transport_writes_one_eml(
    nats_url: str, namespace: Namespace, nats_client: NatsClient, tmp_path: Path
) -> None:
    outbox = tmp_path / "outbox"
    js = nats_client.jetstream()
    event = composed()
    async with run_mailer(settings_for(nats_url, namespace, mail_outbox_dir=outbox)):
        await publish(js, namespace, event)
        sent = await wait_event(js, namespace, EmailSent, event.email_id)

    assert sent.transport == "file"
    assert sent.provider_message_id == f"file:{event.email_id}"
    assert (sent.task_id, sent.agent_id, sent.client_id) == (
        event.task_id,
        event.agent_id,
        event.client_id,
    )
    assert names_in(outbox) == [f"{event.email_id}.eml"]

    raw = (outbox / f"{event.email_id}.eml").read_bytes()
    raw.decode("ascii")  # 7-bit clean: every relay takes it
    msg = message_from_bytes(raw, policy=default)
    d = event.delivery
    assert msg["From"].addresses[0].display_name == d.from_name
    assert msg["From"].addresses[0].addr_spec == DEFAULT_FILE_FROM
    assert msg["To"].addresses[0].display_name == d.to_name
    assert msg["To"].addresses[0].addr_spec == d.to_email
    assert msg["Reply-To"].addresses[0].addr_spec == d.reply_to
    assert msg["Subject"] == event.subject
    assert msg["List-Unsubscribe"] == f"<{d.unsubscribe_url}>"
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert msg["X-RealtorOS-Email-Id"] == str(event.email_id)
    assert msg["Date"] is not None
    assert msg["Message-ID"] == f"<{event.email_id}@realtoros.localhost>"

    text = part_text(msg, "plain")
    assert text.startswith(event.body_text)
    assert "Best,\nSam\n\n-- \nAcme Realty\n(555) 010-2000" in text  # signed once
    assert d.postal_address in text
    assert d.unsubscribe_url in text

    page = part_text(msg, "html")
    assert "&lt;b&gt;Oak Lane&lt;/b&gt; &amp; the garden" in page
    assert "<b>" not in page
    assert f'<a href="{d.unsubscribe_url}">Unsubscribe</a>' in page
    assert d.postal_address in page
