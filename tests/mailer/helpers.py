"""Events in, events out: what the mailer tests share."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from email.message import EmailMessage
from pathlib import Path
from typing import Any, TypeVar, cast

import httpx
from nats.js import JetStreamContext
from nats.js.api import PubAck

from realtoros_contracts import (
    DeliveryContext,
    EmailApproved,
    EmailComposed,
    EmailFailed,
    EmailSent,
    Event,
    Namespace,
    decode,
    encode,
    envelope_headers,
)
from realtoros_mailer.app import Mailer, build_mailer
from realtoros_mailer.message import Outgoing
from realtoros_mailer.settings import MailerSettings
from realtoros_mailer.transports import Transport, TransportName
from tests.support.streams import stream_messages
from tests.support.waiting import eventually

T = TypeVar("T")
E = TypeVar("E", bound=Event)
R = TypeVar("R", EmailSent, EmailFailed)

DEADLINE = 15.0
SES_FROM = "notifications@mail.example.com"


def settings_for(nats_url: str, ns: Namespace, **overrides: Any) -> MailerSettings:
    values: dict[str, Any] = {
        "nats_url": nats_url,
        "nats_namespace": ns.name,
        "mail_transport": "file",
    }
    values.update(overrides)
    return MailerSettings(**values)


@asynccontextmanager
async def running(mailer: Mailer) -> AsyncIterator[Mailer]:
    """The mailer's broker and resources, started the way its app starts them."""
    await mailer.bus.connect()
    await mailer.open()
    await mailer.bus.broker.start()
    try:
        yield mailer
    finally:
        await mailer.bus.broker.stop()
        await mailer.close()


@asynccontextmanager
async def run_mailer(settings: MailerSettings, **kwargs: Any) -> AsyncIterator[Mailer]:
    async with running(build_mailer(settings, **kwargs)) as mailer:
        yield mailer


def delivery(**overrides: Any) -> DeliveryContext:
    email_tag = uuid.uuid4().hex[:8]
    values: dict[str, Any] = {
        "to_email": "jane.buyer@example.com",
        "to_name": "Jane Buyer",
        "from_name": "Sam Agent",
        "reply_to": "sam.agent@brokerage.example.com",
        "signature": "Sam Agent\nAcme Realty\n(555) 010-2000",
        "postal_address": "Acme Realty, 1 Main St, Springfield, IL 62701",
        "unsubscribe_url": f"https://crm.example.com/u/{email_tag}?sig=abc123",
        "send_mode": "automatic",
    }
    values.update(overrides)
    return DeliveryContext(**values)


def _ids() -> dict[str, uuid.UUID]:
    return {
        "email_id": uuid.uuid4(),
        "task_id": uuid.uuid4(),
        "agent_id": uuid.uuid4(),
        "client_id": uuid.uuid4(),
    }


def composed(**overrides: Any) -> EmailComposed:
    values: dict[str, Any] = {
        **_ids(),
        "subject": "Checking in about 12 Oak Lane",
        "body_text": "Hi Jane,\n\nAre you still thinking about <b>Oak Lane</b> & the garden?\n"
        "Happy to set up a second viewing.\n\nBest,\nSam",
        "composer": "llm",
        "delivery": delivery(),
    }
    values.update(overrides)
    return EmailComposed(**values)


def approved(**overrides: Any) -> EmailApproved:
    values: dict[str, Any] = {
        **_ids(),
        "subject": "Your second viewing",
        "body_text": "Hi Jane,\n\nI booked Saturday 10am. See you there!",
        "delivery": delivery(),
    }
    values.update(overrides)
    return EmailApproved(**values)


async def publish(
    js: JetStreamContext, ns: Namespace, event: Event, event_id: str | None = None
) -> PubAck:
    """Publish as its producer would: the envelope in the headers, the JSON as the body."""
    headers = envelope_headers(
        event, event_id=event_id or f"test:{uuid.uuid4()}", source=f"test/{event.PRODUCER}"
    )
    return await js.publish(
        ns.subject(event),
        encode(event),
        headers=headers,
        stream=ns.stream_for(event).name,
    )


async def publish_raw(
    js: JetStreamContext, subject: str, stream: str, body: bytes, headers: dict[str, str]
) -> PubAck:
    return await js.publish(subject, body, headers=headers, stream=stream)


async def mailer_events(js: JetStreamContext, ns: Namespace, event_cls: type[E]) -> list[E]:
    subject = ns.subject(event_cls)
    return [
        decode(event_cls, m.headers, m.data)[1]
        for m in await stream_messages(js, ns.stream_name("mailer"))
        if m.subject == subject
    ]


def part_text(msg: EmailMessage, subtype: str) -> str:
    """The decoded text of the message's text/<subtype> part, with \n line ends."""
    part = msg.get_body((subtype,))
    assert part is not None, f"no text/{subtype} part"
    return str(cast(EmailMessage, part).get_content()).replace("\r\n", "\n")


def names_in(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


async def wait_event(
    js: JetStreamContext, ns: Namespace, event_cls: type[R], email_id: uuid.UUID
) -> R:
    async def probe() -> R | None:
        found = [e for e in await mailer_events(js, ns, event_cls) if e.email_id == email_id]
        return found[0] if found else None

    return await eventually(probe, what=f"{event_cls.__name__} for {email_id}")


class FailsFirst:
    """The real transport, counting its sends, except that the first raises ``error``
    (with None, none does)."""

    def __init__(self, inner: Transport, error: BaseException | None) -> None:
        self.inner = inner
        self.error = error
        self.calls = 0

    @property
    def name(self) -> TransportName:
        return self.inner.name

    async def send(self, message: Outgoing) -> str:
        self.calls += 1
        if self.calls == 1 and self.error is not None:
            raise self.error
        return await self.inner.send(message)


async def post_notification(
    http: httpx.AsyncClient, message: dict[str, Any] | bytes
) -> httpx.Response:
    """POST an SNS message to the mailer's notification endpoint, as SNS does."""
    body = message if isinstance(message, bytes) else json.dumps(message).encode()
    headers = {"content-type": "text/plain; charset=UTF-8", "x-amz-sns-message-type": "x"}
    return await http.post("/ses/notifications", content=body, headers=headers)
