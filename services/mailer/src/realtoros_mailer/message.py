"""Building the MIME message of an email: the headers, a text part with the signature and
footer, and an HTML alternative (both rendered by ``realtoros_contracts.rendering``, which
the CRM's preview also uses), written directly (``realtoros_mailer.mime``: the bytes the
email package would write, without its header registry on every send).

Everything the CRM put in the delivery context is untrusted text here: addresses are
validated, the HTML part escapes every character it was given.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.policy import EmailPolicy
from email.utils import format_datetime
from functools import lru_cache
from uuid import UUID

from email_validator import EmailNotValidError, validate_email

from realtoros_contracts import EmailApproved, EmailComposed
from realtoros_contracts.rendering import html_body, text_body
from realtoros_mailer import mime

Sendable = EmailComposed | EmailApproved

H_EMAIL_ID = "X-RealtorOS-Email-Id"
# A URL safe to put between <> in a header and in an href: http(s), printable ASCII, no
# quotes; short enough for one header line (RFC 5322: 998 characters).
_CONTROL = re.compile("[\x00-\x1f\x7f]")
_UNSUBSCRIBE_URL = re.compile(r"^https?://[!#-&(-;=?-\[\]-~]+$")
MAX_UNSUBSCRIBE_URL = 900
# Headers whose value must reach the client exactly as written: the email package would
# otherwise turn a long List-Unsubscribe (no whitespace to fold at) into an RFC 2047
# encoded-word, which no mail client recognises as a URL.
VERBATIM_HEADERS = frozenset({"list-unsubscribe", "list-unsubscribe-post"})


class _MailPolicy(EmailPolicy):
    """SMTP's policy (CRLF), except that :data:`VERBATIM_HEADERS` are written as they are
    (their values are checked printable ASCII without CR/LF before they are set)."""

    def fold(self, name: str, value: str) -> str:
        if name.lower() in VERBATIM_HEADERS:
            return f"{name}: {value}{self.linesep}"
        folded: str = super().fold(name, value)
        return folded

    def fold_binary(self, name: str, value: str) -> bytes:
        if name.lower() in VERBATIM_HEADERS:
            return f"{name}: {value}{self.linesep}".encode("ascii")
        return super().fold_binary(name, value)


POLICY = _MailPolicy(linesep="\r\n")
"""For the messages still built with the email package (forwarded replies)."""


class InvalidEmail(ValueError):
    """The email cannot be built as given (an invalid address, a bad URL): never sendable."""


@dataclass(frozen=True)
class Outgoing:
    """A built message and the envelope a transport needs to send it."""

    email_id: UUID
    from_address: str
    to_address: str
    reply_to: str
    raw: bytes
    tags: dict[str, str] = field(default_factory=dict)


@lru_cache(maxsize=4096)  # an agent's reply-to, a client's address: checked once each
def checked_address(value: str, what: str) -> str:
    """The ASCII form of a deliverable-looking address (IDN domains punycoded), or raise."""
    try:
        checked = validate_email(value, check_deliverability=False, allow_smtputf8=False)
    except EmailNotValidError as exc:
        raise InvalidEmail(f"{what} is not a valid email address: {exc}") from None
    return checked.ascii_email or checked.normalized


def checked_unsubscribe_url(value: str) -> str:
    if value and (len(value) > MAX_UNSUBSCRIBE_URL or not _UNSUBSCRIBE_URL.match(value)):
        raise InvalidEmail("the unsubscribe URL is not an http(s) URL usable in a header")
    return value


def build_message(
    event: Sendable,
    from_address: str,
    *,
    now: datetime | None = None,
    reply_address: str | None = None,
) -> Outgoing:
    """The MIME message of ``event`` sent from ``from_address``; raises :class:`InvalidEmail`.
    ``reply_address`` (the email's own reply address) replaces the agent's as Reply-To."""
    delivery = event.delivery
    to_address = checked_address(delivery.to_email, "the recipient address")
    # The email's own reply address is ours (a configured domain, a hex-and-base32 local
    # part): the special-use domains a local set-up uses (.test, .localhost) are fine.
    reply_to = reply_address or checked_address(delivery.reply_to, "the reply-to address")
    unsubscribe_url = checked_unsubscribe_url(delivery.unsubscribe_url)
    texts = (delivery.from_name, delivery.to_name, event.subject)
    if any(_CONTROL.search(text) for text in texts):  # the contract refuses them already
        raise InvalidEmail(
            "a header could not be built: header values may not contain linefeed or "
            "carriage return characters"
        )
    headers = [
        mime.address_header("From", delivery.from_name, from_address),
        mime.address_header("To", delivery.to_name, to_address),
        mime.address_header("Reply-To", delivery.from_name, reply_to),
        mime.header("Subject", event.subject),
        f"Date: {format_datetime(now or datetime.now(UTC))}",
        f"Message-ID: <{event.email_id}@{from_address.rpartition('@')[2]}>",
        f"{H_EMAIL_ID}: {event.email_id}",
    ]
    if unsubscribe_url:  # verbatim: a folded or encoded URL is no URL to a mail client
        headers.append(f"List-Unsubscribe: <{unsubscribe_url}>")
        headers.append("List-Unsubscribe-Post: List-Unsubscribe=One-Click")
    # Quoted-printable keeps the whole message 7-bit, which every relay accepts.
    raw = mime.alternative(
        headers,
        f"=_realtoros_{event.email_id.hex}",
        [
            mime.text_part("plain", text_body(event.body_text, delivery)),
            mime.text_part("html", html_body(event.subject, event.body_text, delivery)),
        ],
    )
    return Outgoing(
        email_id=event.email_id,
        from_address=from_address,
        to_address=to_address,
        reply_to=reply_to,
        raw=raw,
        tags={
            "email_id": str(event.email_id),
            "task_id": str(event.task_id),
            "agent_id": str(event.agent_id),
            "client_id": str(event.client_id),
        },
    )
