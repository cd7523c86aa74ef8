"""Shared by the inbound (reply) tests: a mailer with replies on, replies to write, and
SES "Received" notifications as SES sends them."""

from __future__ import annotations

import asyncio
import base64
import smtplib
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path
from typing import Any

from nats.js import JetStreamContext

from realtoros_contracts import AutoReplyReceived, ClientReplied, Namespace
from realtoros_mailer.app import Mailer
from realtoros_mailer.transports import Transport
from tests.mailer.helpers import FailsFirst, eventually, mailer_events, run_mailer, settings_for
from tests.mailer.sns_fake import FakeSns
from tests.support.moto_ses import ACCESS_KEY, SECRET_KEY, MotoSes

DOMAIN = "replies.realtoros.test"
SECRET = "reply-secret-for-tests-0123456789abcdef"
CLIENT = "jane.buyer@example.com"
AGENT = "sam.agent@brokerage.example.com"


def inbound_settings(port: int, **more: Any) -> dict[str, Any]:
    return {
        "mail_inbound_domain": DOMAIN,
        "mail_reply_secret": SECRET,
        "mail_inbound_smtp_port": port,
        **more,
    }


@asynccontextmanager
async def inbound_mailer(
    nats_url: str,
    namespace: Namespace,
    sns: FakeSns,
    tmp_path: Path,
    smtp_port: int,
    moto_ses: MotoSes,
    transport: list[FailsFirst],
) -> AsyncIterator[Mailer]:
    """A mailer with replies on (file outbox in ``tmp_path``, S3 on moto), its transport
    counted in ``transport``."""
    settings = settings_for(
        nats_url,
        namespace,
        mail_outbox_dir=tmp_path,
        sns_cert_url_pattern=sns.url_pattern,
        s3_endpoint_url=moto_ses.endpoint_url,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
        **inbound_settings(smtp_port, mail_inbound_max_bytes=64 * 1024),
    )

    def counted(inner: Transport) -> Transport:
        transport.append(FailsFirst(inner, None))
        return transport[-1]

    async with run_mailer(settings, wrap_transport=counted) as running:
        yield running


def reply_mime(to: str, text: str, **headers: str) -> bytes:
    msg = EmailMessage()
    msg["From"] = f"Jane Buyer <{CLIENT}>"
    msg["To"] = to
    msg["Subject"] = headers.pop("subject", "Re: Checking in about 12 Oak Lane")
    msg["Message-ID"] = f"<{uuid.uuid4().hex}@mail.example.com>"
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    msg.set_content(text + "\n\nOn Tue, Sam Agent wrote:\n> Are you still looking?\n")
    return msg.as_bytes()


async def smtp_send(port: int, rcpt: str, raw: bytes) -> None:
    def send() -> None:
        with smtplib.SMTP("127.0.0.1", port, timeout=20) as smtp:
            smtp.sendmail(CLIENT, [rcpt], raw)

    await asyncio.to_thread(send)


def read_eml(path: Path) -> EmailMessage:
    msg: EmailMessage = message_from_bytes(path.read_bytes(), policy=default_policy)
    return msg


async def wait_outbox(folder: Path, predicate: Any, what: str) -> EmailMessage:
    def find() -> EmailMessage | None:
        for path in sorted(folder.glob("*.eml")):
            msg = read_eml(path)
            if predicate(msg):
                return msg
        return None

    async def probe() -> EmailMessage | None:
        return await asyncio.to_thread(find)

    return await eventually(probe, what=what)


async def replies(js: JetStreamContext, ns: Namespace) -> list[ClientReplied]:
    return await mailer_events(js, ns, ClientReplied)


async def auto_replies(js: JetStreamContext, ns: Namespace) -> list[AutoReplyReceived]:
    return await mailer_events(js, ns, AutoReplyReceived)


def received(raw: bytes, recipients: list[str], **action: Any) -> dict[str, Any]:
    """An SES receiving notification (receipt rule, SNS or S3 action) for ``raw``."""
    verdict = {"status": "PASS"}
    notification: dict[str, Any] = {
        "notificationType": "Received",
        "mail": {
            "timestamp": "2026-12-02T05:00:00.000Z",
            "source": CLIENT,
            "messageId": uuid.uuid4().hex,
            "destination": recipients,
        },
        "receipt": {
            "timestamp": "2026-12-02T05:00:00.000Z",
            "recipients": recipients,
            "spfVerdict": verdict,
            "dkimVerdict": verdict,
            "dmarcVerdict": {"status": "FAIL"},
            "spamVerdict": verdict,
            "virusVerdict": verdict,
            "action": action or {"type": "SNS", "topicArn": "arn:t", "encoding": "BASE64"},
        },
    }
    if notification["receipt"]["action"]["type"] == "SNS":
        notification["content"] = base64.b64encode(raw).decode()
    return notification
