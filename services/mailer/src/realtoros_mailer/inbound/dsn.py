"""Delivery status reports (RFC 3464 ``multipart/report; report-type=delivery-status``)
that reach the inbound door: a bounce of one of our emails, recorded as SES bounces are.

The report names each recipient (``Final-Recipient``), what happened (``Action``) and why
(``Status`` 5.x.x permanent, 4.x.x transient; ``Diagnostic-Code``), and usually carries the
original message or its headers (``message/rfc822`` / ``text/rfc822-headers``), whose
Message-ID finds the email in the reply contexts. Only a recipient the email was really sent
to counts: a forged report cannot suppress someone else's address.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from email.message import EmailMessage, Message
from email.parser import HeaderParser
from email.utils import parseaddr
from typing import Literal

from realtoros_mailer.inbound.parse import MAX_PARTS, header_text, one_line

BounceType = Literal["permanent", "transient", "undetermined"]


@dataclass(frozen=True)
class FailedRecipient:
    address: str
    status: str
    diagnostic: str

    @property
    def bounce_type(self) -> BounceType:
        if self.status.startswith("5"):
            return "permanent"
        if self.status.startswith("4"):
            return "transient"
        return "undetermined"


@dataclass(frozen=True)
class DeliveryReport:
    failed: list[FailedRecipient] = field(default_factory=list)
    original_ids: list[str] = field(default_factory=list)
    """The Message-ID (and In-Reply-To) of the original message, as the report quotes it."""


def _address(value: str) -> str:
    """``rfc822; jane@example.com`` → ``jane@example.com`` (other address types: "")."""
    kind, _, address = value.partition(";")
    if not address:
        address, kind = kind, "rfc822"
    if kind.strip().lower() != "rfc822":
        return ""
    return parseaddr(address.strip())[1].lower()[:320]


def _blocks(part: Message) -> list[Message]:
    payload = part.get_payload()
    if isinstance(payload, list):
        return [block for block in payload if isinstance(block, Message)][:MAX_PARTS]
    if isinstance(payload, str):  # a parser that kept it as text
        return [HeaderParser().parsestr(chunk) for chunk in payload.split("\n\n")[:MAX_PARTS]]
    return []


def _original_headers(part: Message) -> Message | None:
    if part.get_content_type() == "message/rfc822":
        payload = part.get_payload()
        inner = payload[0] if isinstance(payload, list) and payload else None
        return inner if isinstance(inner, Message) else None
    if part.get_content_type() == "text/rfc822-headers":
        try:
            text = part.get_content() if isinstance(part, EmailMessage) else part.get_payload()
        except (LookupError, UnicodeError, ValueError, KeyError):
            return None
        return HeaderParser().parsestr(text) if isinstance(text, str) else None
    return None


def read_report(message: EmailMessage) -> DeliveryReport:
    failed: list[FailedRecipient] = []
    ids: list[str] = []
    for part in list(message.walk())[:MAX_PARTS]:
        if part.get_content_type() == "message/delivery-status":
            for block in _blocks(part):
                action = header_text(block, "Action").strip().lower()
                address = _address(
                    header_text(block, "Final-Recipient")
                    or header_text(block, "Original-Recipient")
                )
                if action != "failed" or not address:
                    continue
                status = one_line(header_text(block, "Status"), 20)
                diagnostic = one_line(header_text(block, "Diagnostic-Code"), 1000)
                failed.append(FailedRecipient(address, status, diagnostic))
        elif (original := _original_headers(part)) is not None:
            for name in ("Message-ID", "In-Reply-To"):
                if value := header_text(original, name).strip():
                    ids.append(value[:300])
    return DeliveryReport(failed=failed[:50], original_ids=ids[:10])
