"""What an inbound email is: a person's reply, an automatic answer, or a bounce report;
its new text (quotes, signatures and disclaimers stripped by mail-parser-reply); and
whether its first lines ask to stop.

Automatic answers (RFC 3834 and what mail systems send in practice): ``Auto-Submitted``
other than ``no``; ``X-Autoreply`` / ``X-Autorespond``; ``Precedence`` auto_reply, bulk,
junk or list; Exchange's ``X-MS-Exchange-Inbox-Rules-Loop``; out-of-office subjects.
A delivery-status report (RFC 3464 ``multipart/report; report-type=delivery-status``)
is a bounce, not a reply.
"""

from __future__ import annotations

import re
from typing import Literal

from mailparser_reply import EmailReplyParser

from realtoros_mailer.inbound.parse import ParsedMail, header_text

Kind = Literal["reply", "auto-reply", "bounce"]

LANGUAGES = ["en", "de", "fr", "es", "it", "nl"]
TEXT_LIMIT = 10_000
STOP_LINES = 3
_AUTO_PRECEDENCE = {"auto_reply", "bulk", "junk", "list"}
_AUTO_SUBJECT = re.compile(
    r"^\s*(out of (the )?office|automatic reply|auto(matic)?[- ]?reply|auto:|autoreply|"
    r"abwesenheitsnotiz|réponse automatique|respuesta automática|away from (my|the) )",
    re.IGNORECASE,
)
_STOP = re.compile(
    r"(^\W*(please\s+)?stop\b|\bunsubscribe\b|\bremove me\b|\bopt[- ]?out\b|"
    r"\bstop (emailing|e-mailing|sending|contacting|messaging)\b|\btake me off\b)",
    re.IGNORECASE,
)


def kind_of(mail: ParsedMail) -> tuple[Kind, str]:
    """The kind, and for an automatic answer the header or subject that says so."""
    message = mail.message
    if message.get_content_type() == "multipart/report":
        report = str(message.get_param("report-type", "") or "").lower()
        if report in ("delivery-status", ""):
            return "bounce", "multipart/report delivery-status"
    if (reason := auto_reply_reason(mail)) is not None:
        return "auto-reply", reason
    return "reply", ""


def auto_reply_reason(mail: ParsedMail) -> str | None:
    auto = header_text(mail.message, "Auto-Submitted").strip().lower()
    if auto and not auto.startswith("no"):
        return f"Auto-Submitted: {auto[:40]}"
    for name in ("X-Autoreply", "X-Autorespond", "X-MS-Exchange-Inbox-Rules-Loop"):
        if header_text(mail.message, name).strip():
            return name
    precedence = header_text(mail.message, "Precedence").strip().lower()
    if precedence in _AUTO_PRECEDENCE:
        return f"Precedence: {precedence}"
    if _AUTO_SUBJECT.match(mail.subject):
        return "out-of-office subject"
    return None


def new_text(text: str) -> str:
    """The reply without the quoted history, headers, signatures and disclaimers."""
    if not text.strip():
        return ""
    try:
        latest = EmailReplyParser(languages=LANGUAGES).parse_reply(text)
    except Exception:  # a third-party parser on hostile text: never crash on it
        latest = ""
    latest = (latest or "").strip() or _without_quotes(text)
    return latest[:TEXT_LIMIT]


def _without_quotes(text: str) -> str:
    return "\n".join(line for line in text.splitlines() if not line.startswith(">")).strip()


def asks_to_stop(text: str) -> bool:
    """True when one of the first lines of the new text asks to stop or unsubscribe."""
    lines = [line for line in text.splitlines() if line.strip()][:STOP_LINES]
    return any(_STOP.search(line) for line in lines)
