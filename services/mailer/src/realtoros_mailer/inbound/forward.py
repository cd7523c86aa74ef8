"""Forwarding a client's reply to the agent's own mailbox, at most once.

The mailer consumes its own ClientReplied (durable ``mailer-reply-forward``). The forward
is a new message from the mailer's address to the agent's reply-to address, Reply-To the
client, so answering it is a normal email conversation: the new text, the attachments'
names (their content is never kept), the sender checks, and below a marked line the
quoted history, so the agent sees the whole conversation.

It takes the mailer's normal send path: the sending pause and the shared rate limit
(a forward waits like any email, the delivery redelivered later), the suppression set (an
agent address that bounced or complained gets no forwards: a forward that bounces is
suppressed by the SES notification, so it cannot loop), and the send ledger under an id
derived from the reply event's id: a redelivered reply is never forwarded twice (a
forward whose result was lost is not retried, as for any send).
"""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from realtoros_contracts import ClientReplied
from realtoros_mailer.inbound.contexts import ReplyContext, ReplyContexts
from realtoros_mailer.ledger import LedgerEntry, SendLedger
from realtoros_mailer.message import POLICY, InvalidEmail, Outgoing, checked_address
from realtoros_mailer.sender import Sender
from realtoros_mailer.suppression import SuppressionSet
from realtoros_mailer.transports import SendNotAttempted, SendRejected, Transport

log = logging.getLogger(__name__)

_FORWARDS = uuid.UUID("6f1d7c2e-3b1a-4a8e-9a55-2f0c1d9e7b10")


def forward_id(reply_event_id: str) -> uuid.UUID:
    return uuid.uuid5(_FORWARDS, reply_event_id)


HISTORY_MARK = "----- Earlier in the conversation (quoted in the client's email) -----"


def forward_text(event: ClientReplied) -> str:
    who = f"{event.from_name} <{event.from_email}>" if event.from_name else event.from_email
    lines = [f"{who} replied to your follow-up:", "", event.text or "(no new text)", ""]
    if event.attachments:
        lines.append("Attachments (names only; not forwarded): " + ", ".join(event.attachments))
    verdicts = event.verdicts
    if any((verdicts.spf, verdicts.dkim, verdicts.dmarc)):
        lines.append(
            f"Sender checks: SPF {verdicts.spf or '-'}, DKIM {verdicts.dkim or '-'}, "
            f"DMARC {verdicts.dmarc or '-'}"
        )
    if event.history:
        lines += ["", HISTORY_MARK, "", event.history]
    lines += [
        "",
        "-- ",
        "Forwarded by RealtorOS. Reply to this email to answer the client;",
        "the follow-up plan is paused until you resume it.",
    ]
    return "\n".join(lines) + "\n"


def build_forward(
    event: ClientReplied, context: ReplyContext, from_address: str, message_id: uuid.UUID
) -> Outgoing:
    to_address = checked_address(context.forward_to, "the agent's address")
    client = checked_address(event.from_email, "the client's address")
    msg = EmailMessage(policy=POLICY)
    msg["From"] = Address(display_name="RealtorOS", addr_spec=from_address)
    msg["To"] = Address(display_name=context.forward_name, addr_spec=to_address)
    msg["Reply-To"] = Address(display_name=event.from_name, addr_spec=client)
    subject = event.subject or f"Re: {context.subject}"
    msg["Subject"] = f"Reply from {event.from_name or client}: {subject}"[:300]
    msg["Date"] = format_datetime(datetime.now(UTC))
    msg["Message-ID"] = make_msgid(idstring=message_id.hex, domain=from_address.rpartition("@")[2])
    msg["Auto-Submitted"] = "auto-generated"  # RFC 3834: nobody auto-answers a forward
    msg.set_content(forward_text(event), cte="quoted-printable")
    return Outgoing(
        email_id=message_id,
        from_address=from_address,
        to_address=to_address,
        reply_to=client,
        raw=msg.as_bytes(),
    )


class ReplyForwarder:
    def __init__(
        self,
        *,
        contexts: ReplyContexts,
        sender: Sender,
        ledger: SendLedger,
        transport: Transport,
        suppression: SuppressionSet,
        from_address: str,
    ) -> None:
        self._contexts = contexts
        self._sender = sender
        self._ledger = ledger
        self._transport = transport
        self._suppression = suppression
        self._from = from_address

    def _count(self, result: str) -> None:
        self._sender.metrics.inbound_forwarded.labels(result).inc()

    async def forward(self, event: ClientReplied, event_id: str) -> None:
        """Raises PausedError while sending is paused (the delivery waits, as emails do)."""
        if event.email_id is None or (context := await self._contexts.find(event.email_id)) is None:
            log.info("reply %s: no sent email on record to forward it for", event_id)
            self._count("no-context")
            return
        message_id = forward_id(event_id)
        try:
            outgoing = build_forward(event, context, self._from, message_id)
        except (InvalidEmail, ValueError) as exc:
            log.warning("reply %s not forwarded: %s", event_id, exc)
            self._count("invalid")
            return
        if (why := await self._suppression.check(outgoing.to_address)) is not None:
            log.warning(
                "reply %s not forwarded: the agent's address is suppressed (%s)",
                event_id,
                why.reason,
            )
            self._count("suppressed")
            return
        await self._sender.wait_for_pacing()
        claim = await self._ledger.claim(message_id, self._sender.owner)
        if claim.existing is not None:
            log.info("reply %s was already forwarded (or attempted)", event_id)
            self._count("duplicate")
            return
        try:
            provider_id = await self._transport.send(outgoing)
        except SendRejected as exc:
            log.warning("reply %s: the forward was refused: %s", event_id, exc)
            refused = LedgerEntry(state="failed", at=datetime.now(UTC), reason=str(exc)[:2000])
            await self._ledger.record(message_id, refused)
            self._count("refused")
            return
        except SendNotAttempted:
            await self._ledger.release(message_id, claim.revision)
            raise
        entry = LedgerEntry(state="sent", at=datetime.now(UTC), message_id=provider_id)
        await self._ledger.record(message_id, entry)
        self._count("sent")
        log.info("reply %s forwarded to the agent of email %s", event_id, event.email_id)
