"""SES through moto's server: what SES receives, and what the mailer reports."""

from __future__ import annotations

from nats.aio.client import Client as NatsClient

from realtoros_contracts import EmailFailed, EmailSent, Namespace
from realtoros_mailer.settings import MailerSettings
from tests.mailer.helpers import (
    SES_FROM,
    approved,
    composed,
    delivery,
    publish,
    run_mailer,
    settings_for,
    wait_event,
)
from tests.support.moto_ses import MotoSes


def ses_settings(nats_url: str, ns: Namespace, ses: MotoSes, **overrides: object) -> MailerSettings:
    env = {k.lower(): v for k, v in ses.mailer_env(SES_FROM).items()}
    return settings_for(nats_url, ns, **{**env, **overrides})


async def test_ses_send_carries_headers_body_footer_and_tags(
    nats_url: str, namespace: Namespace, nats_client: NatsClient, moto_ses: MotoSes
) -> None:
    js = nats_client.jetstream()
    event = composed()
    settings = ses_settings(nats_url, namespace, moto_ses, ses_configuration_set="followups")
    async with run_mailer(settings):
        await publish(js, namespace, event)
        sent = await wait_event(js, namespace, EmailSent, event.email_id)

    [email] = moto_ses.sent_emails(email_id=str(event.email_id))
    assert sent.transport == "ses"
    assert sent.provider_message_id == email.message_id
    assert email.tags == {
        "email_id": str(event.email_id),
        "task_id": str(event.task_id),
        "agent_id": str(event.agent_id),
        "client_id": str(event.client_id),
    }
    assert email.configuration_set == "followups"
    assert email.source == SES_FROM
    assert event.delivery.to_email in email.destinations
    assert email.reply_to == [event.delivery.reply_to]

    msg = email.message
    assert msg["From"].addresses[0].addr_spec == SES_FROM
    assert msg["From"].addresses[0].display_name == event.delivery.from_name
    assert msg["Reply-To"].addresses[0].addr_spec == event.delivery.reply_to
    assert msg["List-Unsubscribe"] == f"<{event.delivery.unsubscribe_url}>"
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert msg["Subject"] == event.subject
    text = email.text()
    assert text.startswith(event.body_text)
    assert "Best,\nSam\n\n-- \nAcme Realty" in text  # the draft signs off: signed once
    assert event.delivery.postal_address in text
    assert f"Unsubscribe: {event.delivery.unsubscribe_url}" in text


async def test_approved_email_is_sent_with_exactly_its_text(
    nats_url: str, namespace: Namespace, nats_client: NatsClient, moto_ses: MotoSes
) -> None:
    js = nats_client.jetstream()
    event = approved(
        subject="Edited: Saturday at 10 — Oak Lane",
        body_text="Hi Jane,\n\nI changed my mind: let's meet at 11 instead. Ünïcödé ok?",
        delivery=delivery(send_mode="approval"),
    )
    async with run_mailer(ses_settings(nats_url, namespace, moto_ses)):
        await publish(js, namespace, event)
        sent = await wait_event(js, namespace, EmailSent, event.email_id)

    [email] = moto_ses.sent_emails(email_id=str(event.email_id))
    assert sent.provider_message_id == email.message_id
    assert email.message["Subject"] == event.subject
    assert email.text().split("\n\n-- \n")[0] == event.body_text


async def test_invalid_recipient_fails_without_sending(
    nats_url: str, namespace: Namespace, nats_client: NatsClient, moto_ses: MotoSes
) -> None:
    js = nats_client.jetstream()
    event = composed(delivery=delivery(to_email="jane.buyer@@example"))
    async with run_mailer(ses_settings(nats_url, namespace, moto_ses)):
        await publish(js, namespace, event)
        failed = await wait_event(js, namespace, EmailFailed, event.email_id)

    assert failed.outcome == "failed"
    assert "recipient address" in failed.reason
    assert moto_ses.sent_emails(email_id=str(event.email_id)) == []
