"""The SMTP transport (MAIL_TRANSPORT=smtp) against an in-process aiosmtpd server."""

from __future__ import annotations

from collections.abc import Iterator
from email import message_from_bytes
from email.policy import default
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from nats.aio.client import Client as NatsClient

from realtoros_contracts import EmailFailed, EmailSent, Namespace
from realtoros_devstack.embedded import free_port
from tests.mailer.helpers import (
    composed,
    delivery,
    publish,
    run_mailer,
    settings_for,
    wait_event,
)

FROM = "no-reply@mail.example.com"


class Catcher:
    """Keeps every message it accepts; refuses recipients at ``refused.example.com``."""

    def __init__(self) -> None:
        self.received: list[tuple[str, list[str], bytes]] = []

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if address.endswith("@refused.example.com"):
            return "550 5.1.1 no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.received.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp() -> Iterator[tuple[Catcher, int]]:
    catcher = Catcher()
    port = free_port()
    controller = Controller(catcher, hostname="127.0.0.1", port=port)
    controller.start()
    yield catcher, port
    controller.stop()


async def test_smtp_transport_hands_the_message_to_the_server(
    nats_url: str, namespace: Namespace, nats_client: NatsClient, smtp: tuple[Catcher, int]
) -> None:
    catcher, port = smtp
    js = nats_client.jetstream()
    event = composed()
    refused = composed(delivery=delivery(to_email="nobody@refused.example.com"))
    settings = settings_for(
        nats_url,
        namespace,
        mail_transport="smtp",
        smtp_host="127.0.0.1",
        smtp_port=port,
        mail_from_address=FROM,
    )
    async with run_mailer(settings):
        await publish(js, namespace, event)
        await publish(js, namespace, refused)
        sent = await wait_event(js, namespace, EmailSent, event.email_id)
        failed = await wait_event(js, namespace, EmailFailed, refused.email_id)

    assert sent.transport == "smtp"
    assert sent.provider_message_id == f"smtp:{event.email_id}"
    [(mail_from, rcpt_tos, content)] = catcher.received
    assert (mail_from, rcpt_tos) == (FROM, [event.delivery.to_email])
    msg = message_from_bytes(content, policy=default)
    assert msg["X-RealtorOS-Email-Id"] == str(event.email_id)
    assert msg["Reply-To"].addresses[0].addr_spec == event.delivery.reply_to
    assert failed.outcome == "failed"
    assert "550" in failed.reason
