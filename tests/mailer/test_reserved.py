"""Reserved example domains: outside tests, SES never sends to them — the email is skipped
with the reason, never silently dropped; the file transport (./dev run) still writes them."""

from __future__ import annotations

from pathlib import Path

import pytest
from nats.aio.client import Client as NatsClient

from realtoros_contracts import EmailFailed, EmailSent, Namespace
from realtoros_mailer.reserved import reserved_domain
from realtoros_mailer.settings import MailerSettings
from tests.mailer.helpers import (
    composed,
    delivery,
    names_in,
    publish,
    run_mailer,
    settings_for,
    wait_event,
)
from tests.mailer.test_ses import ses_settings
from tests.support.moto_ses import MotoSes


@pytest.mark.parametrize(
    ("address", "reserved"),
    [
        ("jane@example.com", "example.com"),
        ("jane@mail.Example.ORG", "mail.example.org"),
        ("jane@example.net.", "example.net"),
        ("sam@harbor.test", "harbor.test"),
        ("sam@shop.example", "shop.example"),
        ("sam@nowhere.invalid", "nowhere.invalid"),
        ("sam@dev.localhost", "dev.localhost"),
        ("jane@gmail.com", None),
        ("jane@example.co", None),
        ("jane@myexample.com", None),
        ("jane@test.com", None),
    ],
)
def test_reserved_domains_are_recognised(address: str, reserved: str | None) -> None:
    assert reserved_domain(address) == reserved


def test_sending_to_reserved_domains_is_off_by_default() -> None:
    assert MailerSettings.model_fields["mailer_allow_reserved_domains"].default is False


async def test_ses_skips_a_reserved_domain_with_the_reason(
    nats_url: str, namespace: Namespace, nats_client: NatsClient, moto_ses: MotoSes
) -> None:
    js = nats_client.jetstream()
    demo = composed(delivery=delivery(to_email="ana.ortiz@example.com"))
    real = composed(delivery=delivery(to_email="ana.ortiz@harbor-realty.com"))
    settings = ses_settings(nats_url, namespace, moto_ses, mailer_allow_reserved_domains=False)
    async with run_mailer(settings):
        await publish(js, namespace, demo)
        await publish(js, namespace, real)
        skipped = await wait_event(js, namespace, EmailFailed, demo.email_id)
        await wait_event(js, namespace, EmailSent, real.email_id)

    assert skipped.outcome == "skipped"
    assert "example.com is a reserved example domain" in skipped.reason
    assert moto_ses.sent_emails(email_id=str(demo.email_id)) == []
    assert len(moto_ses.sent_emails(email_id=str(real.email_id))) == 1


async def test_the_file_transport_still_writes_reserved_domains(
    nats_url: str, namespace: Namespace, nats_client: NatsClient, tmp_path: Path
) -> None:
    js = nats_client.jetstream()
    demo = composed(delivery=delivery(to_email="ana.ortiz@example.com"))
    settings = settings_for(
        nats_url, namespace, mail_outbox_dir=tmp_path, mailer_allow_reserved_domains=False
    )
    async with run_mailer(settings):
        await publish(js, namespace, demo)
        await wait_event(js, namespace, EmailSent, demo.email_id)
    assert names_in(tmp_path) == [f"{demo.email_id}.eml"]
