"""One inbound email, from either door (SES via SNS, or the local SMTP server), to one event.

1. parse it within the limits (refused: logged and dropped, never a crash);
2. a delivery-status report is a bounce of the email it quotes (``inbound/dsn.py``):
   EmailBounced and, when permanent, the suppression set, as for SES bounce notifications;
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

from realtoros_contracts import (
    AutoReplyReceived,
    ClientReplied,
    EmailBounced,
    MatchedBy,
    SenderVerdicts,
)
from realtoros_mailer.inbound.classify import asks_to_stop, kind_of, new_text
from realtoros_mailer.inbound.contexts import ReplyContext, ReplyContexts
from realtoros_mailer.inbound.dsn import DeliveryReport, read_report
from realtoros_mailer.inbound.parse import ParsedMail, UnreadableMail, parse_mail
from realtoros_mailer.inbound.tokens import tokens_in, verify_reply_token
from realtoros_mailer.metrics import MailerMetrics
from realtoros_mailer.suppression import SuppressionSet
from realtoros_runtime.publisher import EventPublisher

log = logging.getLogger(__name__)

Result = Literal["replied", "auto-reply", "bounce", "dropped"]
HISTORY_LIMIT = 20_000
_SEVERITY = {"permanent": 0, "transient": 1, "undetermined": 2}


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
        self,
        config: InboundConfig,
        publisher: EventPublisher,
        contexts: ReplyContexts,
        suppression: SuppressionSet | None = None,
        metrics: MailerMetrics | None = None,
    ) -> None:
        self.config = config
        self._publisher = publisher
        self._contexts = contexts
        self._suppression = suppression
        self.metrics = metrics or MailerMetrics()

    async def take(
        self,
        raw: bytes,
        recipients: list[str],
        verdicts: SenderVerdicts | None = None,
        received_at: datetime | None = None,
        door: str = "smtp",
    ) -> Result:
        self.metrics.inbound_received.labels(door).inc()
        try:
            return await self._take(raw, recipients, verdicts, received_at or datetime.now(UTC))
        except Exception:
            self.metrics.inbound_errors.inc()
            raise

    def rejected(self, reason: str) -> Result:
        self.metrics.inbound_classified.labels("rejected", reason).inc()
        return "dropped"

    async def _take(
        self,
        raw: bytes,
        recipients: list[str],
        verdicts: SenderVerdicts | None,
        received_at: datetime,
    ) -> Result:
        try:
            mail = parse_mail(raw, max_bytes=self.config.max_bytes)
        except UnreadableMail as exc:
            log.warning("inbound email refused: %s", exc)
            return self.rejected("unreadable")
        kind, reason = kind_of(mail)
        if kind == "bounce":
            return await self._bounce(mail, raw, recipients, received_at)
        try:
            email_id, matched_by = await self._match(mail, recipients)
        except NotOurs as exc:
            log.warning("inbound email from %s dropped: %s", mail.from_email, exc)
            return self.rejected("forged-token")
        fields = _fields(mail, email_id, matched_by, verdicts, received_at)
        event: ClientReplied | AutoReplyReceived
        if kind == "auto-reply":
            event = AutoReplyReceived(**fields, reason=reason[:200])
            counted = "auto-reply"
        else:
            stop = asks_to_stop(fields["text"])
            history = quoted_history(mail.text, fields["text"])
            event = ClientReplied(**fields, unsubscribe_requested=stop, history=history)
            counted = "unsubscribe" if stop else "reply"
        await self._publisher.publish(event, event_id=reply_event_id(mail, raw))
        self.metrics.inbound_classified.labels(counted, "").inc()
        log.info(
            "inbound %s from %s for email %s (%s)", kind, mail.from_email, email_id, matched_by
        )
        return "replied" if kind == "reply" else "auto-reply"

    async def _bounce(
        self, mail: ParsedMail, raw: bytes, recipients: list[str], received_at: datetime
    ) -> Result:
        """A delivery status report: the bounce of the email it quotes, as an SES bounce
        notification is recorded (EmailBounced; a permanent one suppresses the address)."""
        report = read_report(mail.message)
        context = await self._reported_email(report, mail, recipients)
        bounced = [
            failed
            for failed in report.failed
            if context is not None and failed.address == context.to_email.lower()
        ]
        if context is None or not bounced:
            log.warning(
                "delivery status report from %s names no recipient of an email of ours "
                "(%d failed recipient(s)): dropped",
                mail.from_email,
                len(report.failed),
            )
            return self.rejected("dsn-unmatched")
        worst = min(bounced, key=lambda f: _SEVERITY[f.bounce_type])
        if worst.bounce_type == "permanent" and self._suppression is not None:
            await self._suppression.add(worst.address, "bounce", f"DSN {worst.status}")
        if context.task_id is not None:
            event = EmailBounced(
                email_id=context.email_id,
                task_id=context.task_id,
                agent_id=context.agent_id,
                client_id=context.client_id,
                provider_message_id=context.provider_message_id[:300],
                occurred_at=received_at,
                bounce_type=worst.bounce_type,
                bounce_subtype=f"DSN {worst.status}"[:100],
                recipients=[worst.address],
                diagnostic=worst.diagnostic[:2000],
            )
            await self._publisher.publish(event, event_id=dsn_event_id(mail, raw))
        self.metrics.inbound_classified.labels("dsn", "").inc()
        log.info(
            "delivery status report: email %s bounced (%s %s)",
            context.email_id,
            worst.bounce_type,
            worst.status,
        )
        return "bounce"

    async def _reported_email(
        self, report: DeliveryReport, mail: ParsedMail, recipients: list[str]
    ) -> ReplyContext | None:
        for message_id in [*report.original_ids, *mail.references]:
            if (found := await self._contexts.email_for(message_id)) is not None:
                return await self._contexts.find(found)
        for token in tokens_in([*recipients, *mail.addressed_to()], self.config.domain):
            if (email_id := verify_reply_token(token, self.config.key)) is not None:
                return await self._contexts.find(email_id)
        return None

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


def dsn_event_id(mail: ParsedMail, raw: bytes) -> str:
    basis = mail.message_id.encode() if mail.message_id else raw
    return "dsn:" + hashlib.sha256(basis).hexdigest()[:40]


def quoted_history(full: str, new: str) -> str:
    """What the reply quotes below (or above) its new text: the whole text without the
    new part, for the agent's forwarded copy."""
    full = full.strip()
    at = full.find(new) if new else -1
    rest = full[:at] + full[at + len(new) :] if at >= 0 else full
    return rest.strip()[:HISTORY_LIMIT]


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
