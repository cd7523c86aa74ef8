"""One inbound email, from either door (SES via SNS, or the local SMTP server), to one event.

1. parse it within the limits (refused: logged and dropped, never a crash);
2. a delivery-status report is a bounce: logged and dropped (SES reports our bounces
   through the configuration set already);
3. match it to the email it answers: the signed reply address (a forged or corrupt token
   drops the message), else In-Reply-To/References, else only the sender's address (the CRM,
   which owns the clients, matches it against its recent recipients);
4. publish ClientReplied (or AutoReplyReceived) with id ``reply:<hash of Message-ID>``, so a
   second delivery of the same message (SNS retries, a resent SMTP transaction) is the same
   event: JetStream drops it within its window and the CRM's inbox after that.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from realtoros_contracts import AutoReplyReceived, ClientReplied, MatchedBy, SenderVerdicts
from realtoros_mailer.inbound.classify import asks_to_stop, kind_of, new_text
from realtoros_mailer.inbound.contexts import ReplyContexts
from realtoros_mailer.inbound.parse import ParsedMail, UnreadableMail, parse_mail
from realtoros_mailer.inbound.tokens import tokens_in, verify_reply_token
from realtoros_runtime.bus import EventPublisher

log = logging.getLogger(__name__)

Result = Literal["replied", "auto-reply", "bounce", "dropped"]


@dataclass(frozen=True)
class InboundConfig:
    domain: str
    key: bytes
    max_bytes: int


class NotOurs(Exception):
    """The message cannot be attributed to an email of ours (logged and dropped)."""


def reply_event_id(mail: ParsedMail, raw: bytes) -> str:
    basis = mail.message_id.encode() if mail.message_id else raw
    return "reply:" + hashlib.sha256(basis).hexdigest()[:40]


class InboundIntake:
    def __init__(
        self, config: InboundConfig, publisher: EventPublisher, contexts: ReplyContexts
    ) -> None:
        self.config = config
        self._publisher = publisher
        self._contexts = contexts

    async def take(
        self,
        raw: bytes,
        recipients: list[str],
        verdicts: SenderVerdicts | None = None,
        received_at: datetime | None = None,
    ) -> Result:
        try:
            mail = parse_mail(raw, max_bytes=self.config.max_bytes)
        except UnreadableMail as exc:
            log.warning("inbound email refused: %s", exc)
            return "dropped"
        kind, reason = kind_of(mail)
        if kind == "bounce":
            log.info(
                "inbound delivery-status report from %s: a bounce, not a reply", mail.from_email
            )
            return "bounce"
        try:
            email_id, matched_by = await self._match(mail, recipients)
        except NotOurs as exc:
            log.warning("inbound email from %s dropped: %s", mail.from_email, exc)
            return "dropped"
        fields = _fields(mail, email_id, matched_by, verdicts, received_at)
        event: ClientReplied | AutoReplyReceived
        if kind == "auto-reply":
            event = AutoReplyReceived(**fields, reason=reason[:200])
        else:
            event = ClientReplied(**fields, unsubscribe_requested=asks_to_stop(fields["text"]))
        await self._publisher.publish(event, event_id=reply_event_id(mail, raw))
        log.info(
            "inbound %s from %s for email %s (%s)", kind, mail.from_email, email_id, matched_by
        )
        return "replied" if kind == "reply" else "auto-reply"

    async def _match(
        self, mail: ParsedMail, recipients: list[str]
    ) -> tuple[uuid.UUID | None, MatchedBy]:
        tokens = tokens_in([*recipients, *mail.addressed_to()], self.config.domain)
        if tokens:
            email_id = verify_reply_token(tokens[0], self.config.key)
            if email_id is None:
                raise NotOurs("the reply address carries a token we did not sign")
            return email_id, "reply-address"
        for message_id in mail.references:
            if (found := await self._contexts.email_for(message_id)) is not None:
                return found, "in-reply-to"
        return None, "sender"


def _fields(
    mail: ParsedMail,
    email_id: uuid.UUID | None,
    matched_by: MatchedBy,
    verdicts: SenderVerdicts | None,
    received_at: datetime | None,
) -> dict[str, Any]:
    return {
        "email_id": email_id,
        "matched_by": matched_by,
        "from_email": mail.from_email,
        "from_name": mail.from_name,
        "subject": mail.subject,
        "text": new_text(mail.text),
        "received_at": received_at or datetime.now(UTC),
        "message_id": mail.message_id,
        "attachments": mail.attachments,
        "verdicts": verdicts or SenderVerdicts(),
    }
