"""Shared by the inbound (reply) tests: the settings of replies, replies to write, and
SES "Received" notifications as SES sends them."""

from __future__ import annotations

import asyncio
import base64
import smtplib
import uuid
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path
from typing import Any

from nats.js import JetStreamContext

from realtoros_contracts import AutoReplyReceived, ClientReplied, Namespace
from tests.mailer.helpers import mailer_events
from tests.support.waiting import eventually

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
