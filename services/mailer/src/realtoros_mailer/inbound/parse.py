"""Reading an inbound email: hostile bytes in, a small plain summary out.

The stdlib parser with ``policy.default`` reads the MIME; everything around it is about
not trusting it: a size limit before parsing, a bound on nesting depth and on the number
of parts, charset errors replaced rather than raised, HTML turned into text by html2text
(which fetches nothing), attachments named and never kept.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage, Message
from email.parser import BytesParser
from email.utils import getaddresses, parseaddr

import html2text

MAX_DEPTH = 8
MAX_PARTS = 100
MAX_TEXT = 200_000
MAX_ATTACHMENTS = 50
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f]")
_MESSAGE_IDS = re.compile(r"<[^<>\s]{1,250}>")


class UnreadableMail(ValueError):
    """The message is refused (too large, too deep, not MIME we can read)."""


@dataclass(frozen=True)
class ParsedMail:
    message: EmailMessage
    from_email: str
    from_name: str
    subject: str
    message_id: str
    references: list[str]
    """In-Reply-To then References ids, newest first (with their angle brackets)."""
    text: str
    attachments: list[str] = field(default_factory=list)

    def header(self, name: str) -> str:
        return header_text(self.message, name)

    def addressed_to(self) -> list[str]:
        return [self.header(name) for name in ("To", "Cc", "Delivered-To", "X-Original-To")]


def one_line(value: str, limit: int) -> str:
    return " ".join(_CONTROL.sub(" ", value).split())[:limit]


def header_text(message: Message, name: str) -> str:
    """A header as text, or "" when absent or so malformed the parser cannot render it."""
    try:
        value = message.get(name)
    except (ValueError, IndexError, TypeError, LookupError):
        return ""
    return "" if value is None else str(value)


def parse_mail(raw: bytes, *, max_bytes: int) -> ParsedMail:
    if len(raw) > max_bytes:
        raise UnreadableMail(f"{len(raw)} bytes is over the {max_bytes}-byte limit")
    if raw.lower().count(b"boundary=") > MAX_PARTS:
        raise UnreadableMail("too many MIME parts")
    try:
        message = BytesParser(policy=policy.default).parsebytes(raw)
        _check_shape(message)
    except RecursionError:
        raise UnreadableMail("MIME nested too deeply") from None
    assert isinstance(message, EmailMessage)
    name, address = parseaddr(header_text(message, "From"))
    if "@" not in address:
        raise UnreadableMail("no sender address")
    return ParsedMail(
        message=message,
        from_email=one_line(address, 320).lower(),
        from_name=one_line(name, 200),
        subject=one_line(header_text(message, "Subject"), 300),
        message_id=one_line(header_text(message, "Message-ID"), 300),
        references=_references(message),
        text=body_text(message)[:MAX_TEXT],
        attachments=attachment_names(message),
    )


def _check_shape(message: Message) -> None:
    """Depth and part count, iteratively (a crafted message must not recurse us)."""
    stack: list[tuple[Message, int]] = [(message, 0)]
    parts = 0
    while stack:
        part, depth = stack.pop()
        parts += 1
        if depth > MAX_DEPTH:
            raise UnreadableMail(f"MIME nested deeper than {MAX_DEPTH} levels")
        if parts > MAX_PARTS:
            raise UnreadableMail(f"more than {MAX_PARTS} MIME parts")
        payload = part.get_payload()
        if isinstance(payload, list):
            stack.extend((child, depth + 1) for child in payload if isinstance(child, Message))


def _references(message: Message) -> list[str]:
    ids = _MESSAGE_IDS.findall(header_text(message, "In-Reply-To"))
    ids += reversed(_MESSAGE_IDS.findall(header_text(message, "References")))
    return list(dict.fromkeys(ids))[:20]


def _decoded(part: EmailMessage) -> str:
    try:
        content = part.get_content()
    except (LookupError, UnicodeError, AssertionError, KeyError, ValueError):
        raw = part.get_payload(decode=True)
        content = raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else ""
    return content if isinstance(content, str) else ""


def html_to_text(markup: str) -> str:
    converter = html2text.HTML2Text(bodywidth=0)
    converter.ignore_images = True
    converter.ignore_links = True
    converter.ignore_emphasis = True
    return str(converter.handle(markup))


def body_text(message: EmailMessage) -> str:
    """The plain text of the message: its text/plain body, else its HTML as text."""
    try:
        plain = message.get_body(preferencelist=("plain",))
        html = None if plain is not None else message.get_body(preferencelist=("html",))
    except (KeyError, ValueError, LookupError):
        plain = html = None
    if isinstance(plain, EmailMessage):
        return _decoded(plain).replace("\r\n", "\n")
    if isinstance(html, EmailMessage):
        return html_to_text(_decoded(html))
    return ""


def attachment_names(message: EmailMessage) -> list[str]:
    names = []
    for part in message.walk():
        if part.is_multipart() or part.get_content_disposition() not in ("attachment", "inline"):
            continue
        try:
            filename = part.get_filename()
        except (ValueError, LookupError, TypeError):
            filename = None
        if filename or part.get_content_disposition() == "attachment":
            names.append(one_line(filename or "(unnamed)", 200))
    return names[:MAX_ATTACHMENTS]


def all_recipients(mail: ParsedMail) -> list[str]:
    return [address for _, address in getaddresses(mail.addressed_to()) if address]
