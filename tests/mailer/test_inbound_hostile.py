"""Inbound mail is hostile: oversized, deeply nested, malformed or forged messages are
refused with a log line and change nothing, and the server keeps serving."""

from __future__ import annotations

import smtplib
import uuid
from collections.abc import AsyncIterator

import pytest
from nats.aio.client import Client as NatsClient

from realtoros_contracts import Namespace
from realtoros_devstack.embedded import free_port
from realtoros_mailer.app import Mailer
from realtoros_mailer.inbound.parse import UnreadableMail, parse_mail
from realtoros_mailer.inbound.tokens import reply_address, verify_reply_token
from tests.mailer.helpers import run_mailer, settings_for
from tests.mailer.inbound_support import (
    DOMAIN,
    SECRET,
    inbound_settings,
    replies,
    reply_mime,
    smtp_send,
)
from tests.support.waiting import eventually

LIMIT = 64 * 1024


def nested(depth: int) -> bytes:
    head = "From: x@example.com\r\nTo: y@example.com\r\nMIME-Version: 1.0\r\n"
    body = "text\r\n"
    for level in range(depth):
        b = f"b{level}"
        body = (
            f'Content-Type: multipart/mixed; boundary="{b}"\r\n\r\n--{b}\r\n{body}\r\n--{b}--\r\n'
        )
    return (head + body).encode()


def test_deep_nesting_and_too_many_parts_are_refused() -> None:
    with pytest.raises(UnreadableMail, match=r"nested|parts"):
        parse_mail(nested(40), max_bytes=LIMIT)
    with pytest.raises(UnreadableMail, match="parts"):
        parse_mail(nested(2) + b"boundary=" * 200, max_bytes=LIMIT)
    parse_mail(nested(3), max_bytes=LIMIT)  # ordinary nesting reads


def test_oversized_and_senderless_mail_is_refused() -> None:
    with pytest.raises(UnreadableMail, match="limit"):
        parse_mail(b"x" * (LIMIT + 1), max_bytes=LIMIT)
    with pytest.raises(UnreadableMail, match="sender"):
        parse_mail(b"Subject: hi\r\n\r\nno from header\r\n", max_bytes=LIMIT)
    with pytest.raises(UnreadableMail):
        parse_mail(b"\x00\xff garbage \r\n\r\n", max_bytes=LIMIT)


def test_tokens_only_verify_with_the_key_and_survive_lower_casing() -> None:
    email_id = uuid.uuid4()
    token = reply_address(email_id, SECRET.encode(), DOMAIN).split("@")[0].removeprefix("reply+")
    assert verify_reply_token(token.upper(), SECRET.encode()) == email_id
    assert verify_reply_token(token, b"another key, equally long......") is None
    assert verify_reply_token(f"{uuid.uuid4().hex}.{token.split('.')[1]}", SECRET.encode()) is None
    assert verify_reply_token("not-a-token", SECRET.encode()) is None


@pytest.fixture
async def smtp_mailer(
    nats_url: str, namespace: Namespace, nats_client: NatsClient, tmp_path: object
) -> AsyncIterator[tuple[Mailer, int]]:
    port = free_port()
    settings = settings_for(
        nats_url,
        namespace,
        mail_outbox_dir=tmp_path,
        **inbound_settings(port, mail_inbound_max_bytes=LIMIT),
    )
    async with run_mailer(settings) as running:
        yield running, port


async def test_hostile_mail_over_smtp_changes_nothing_and_the_server_keeps_serving(
    smtp_mailer: tuple[Mailer, int], nats_client: NatsClient, namespace: Namespace
) -> None:
    _, port = smtp_mailer
    address = reply_address(uuid.uuid4(), SECRET.encode(), DOMAIN)
    with pytest.raises(smtplib.SMTPException):  # 552 at the SMTP level, never parsed
        await smtp_send(port, address, reply_mime(address, "x" * (2 * LIMIT)))
    with pytest.raises(smtplib.SMTPRecipientsRefused):  # not a mailbox of ours
        await smtp_send(port, "someone@elsewhere.example", reply_mime(address, "hi"))
    await smtp_send(port, address, nested(40))
    await smtp_send(port, address, b"From: nobody\r\n\r\n\xff\xfe\x00 broken")
    await smtp_send(port, address, reply_mime(address, "Still here."))
    js = nats_client.jetstream()
    await eventually(lambda: replies(js, namespace), what="the well-formed reply")
    assert [r.text for r in await replies(js, namespace)] == ["Still here."]


async def test_the_same_reply_delivered_twice_is_one_event(
    smtp_mailer: tuple[Mailer, int], nats_client: NatsClient, namespace: Namespace
) -> None:
    _, port = smtp_mailer
    address = reply_address(uuid.uuid4(), SECRET.encode(), DOMAIN)
    raw = reply_mime(address, "Once only.")
    await smtp_send(port, address, raw)
    await smtp_send(port, address, raw)  # a resent SMTP transaction: same Message-ID
    marker = reply_mime(address, "After the copy.")
    await smtp_send(port, address, marker)
    js = nats_client.jetstream()
    await eventually(
        lambda: _texts_include(js, namespace, "After the copy."), what="the marker reply"
    )
    assert sorted(r.text for r in await replies(js, namespace)) == ["After the copy.", "Once only."]


async def _texts_include(js: object, ns: Namespace, text: str) -> bool:
    return text in [r.text for r in await replies(js, ns)]  # type: ignore[arg-type]
