"""The provider's reports about a sent email (delivered, delayed, bounced, complained,
rejected, opened, clicked): on the email, its task, the client's timeline and last
contact. A hard bounce or a complaint unsubscribes the client, stops their plans and
emits ClientUnsubscribed through the outbox. Each recorder is ``record_x(session, event,
now) -> Applied`` (the namespace bound by the CRM's table of recordings); flushes only:
the consumer commits."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Literal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from realtoros_contracts import Namespace
from realtoros_contracts import events as ev
from realtoros_crm.clients.models import Client
from realtoros_crm.clients.unsubscribing import unsubscribe_client
from realtoros_crm.emails.models import Email
from realtoros_crm.emails.repository import Locked
from realtoros_crm.emails.service import lock_email
from realtoros_crm.messaging.recording import Applied
from realtoros_crm.plans.lifecycle import finish_if_complete, stop_client_plans


def _subject(locked: Locked) -> str:
    return locked.email.subject or "(no subject)"


async def _client(session: AsyncSession, locked: Locked) -> Client:
    statement = select(Client).where(Client.id == locked.email.client_id).with_for_update()
    return (await session.scalars(statement)).one()


async def record_delivered(
    session: AsyncSession, event: ev.EmailDelivered, now: datetime
) -> Applied:
    if isinstance(locked := await lock_email(session, event, now), str):
        return locked
    email = locked.email
    if email.delivered_at is None or event.occurred_at < email.delivered_at:
        email.delivered_at = event.occurred_at
    email.updated_at = now
    client = await _client(session, locked)
    if client.last_contacted_at is None or client.last_contacted_at < event.occurred_at:
        client.last_contacted_at = event.occurred_at
    locked.record(
        session, "email_delivered", f"Email delivered: {_subject(locked)}", event.occurred_at
    )
    await session.flush()
    return "applied"


async def record_delayed(
    session: AsyncSession, event: ev.EmailDeliveryDelayed, now: datetime
) -> Applied:
    if isinstance(locked := await lock_email(session, event, now), str):
        return locked
    locked.email.delivery_delayed_at, locked.email.updated_at = event.occurred_at, now
    why = f" ({event.delay_type})" if event.delay_type else ""
    summary = f"Email delivery delayed{why}; the provider keeps trying: {_subject(locked)}"
    locked.record(session, "email_delivery_delayed", summary, event.occurred_at)
    await session.flush()
    return "applied"


async def record_opened(session: AsyncSession, event: ev.EmailOpened, now: datetime) -> Applied:
    if isinstance(locked := await lock_email(session, event, now), str):
        return locked
    if _count(locked.email, "open", event.occurred_at, now):  # the first open only
        summary = f"Email opened: {_subject(locked)}"
        locked.record(session, "email_opened", summary, event.occurred_at)
    await session.flush()
    return "applied"


def _count(email: Email, what: Literal["open", "click"], at: datetime, now: datetime) -> bool:
    """One more open or click; True for the email's first."""
    setattr(email, f"{what}_count", getattr(email, f"{what}_count") + 1)
    email.updated_at = now
    first: datetime | None = getattr(email, f"first_{what}ed_at")
    if first is None or at < first:
        setattr(email, f"first_{what}ed_at", at)
    return first is None


async def record_clicked(session: AsyncSession, event: ev.EmailClicked, now: datetime) -> Applied:
    if isinstance(locked := await lock_email(session, event, now), str):
        return locked
    _count(locked.email, "click", event.occurred_at, now)
    summary = f"Link clicked in '{_subject(locked)}': {event.link}"
    locked.record(session, "email_clicked", summary, event.occurred_at)
    await session.flush()
    return "applied"


async def record_rejected(session: AsyncSession, event: ev.EmailRejected, now: datetime) -> Applied:
    if isinstance(locked := await lock_email(session, event, now), str):
        return locked
    reason = f"rejected by the provider: {event.reason or 'no reason given'}"
    locked.email.rejected_at = event.occurred_at
    locked.set_status("failed", now, reason)
    locked.record(session, "email_rejected", f"Email not sent, {reason}", event.occurred_at)
    await session.flush()
    await finish_if_complete(session, locked.task.plan_run_id, now)
    return "applied"


async def record_bounced(
    session: AsyncSession, ns: Namespace, event: ev.EmailBounced, now: datetime
) -> Applied:
    if isinstance(locked := await lock_email(session, event, now), str):
        return locked
    email = locked.email
    email.bounced_at, email.bounce_type, email.updated_at = (
        event.occurred_at,
        event.bounce_type,
        now,
    )
    detail = "; ".join(p for p in (event.bounce_subtype, event.diagnostic) if p) or "no detail"
    if event.bounce_type != "permanent":
        summary = f"Email bounced ({event.bounce_type}, may still arrive later): {detail}"
        locked.record(session, "email_bounced", summary, event.occurred_at)
        await session.flush()
        return "applied"
    plain = bounce_in_words(event.diagnostic)
    locked.set_status("failed", now, f"bounced: {plain}")
    summary = (
        f"Email bounced: {plain}. Follow-up emails to this address have stopped "
        f"(server said: {detail})"
    )
    locked.record(session, "email_bounced", summary, event.occurred_at)
    await _unsubscribe(session, ns, locked, "bounce", event.occurred_at, now)
    return "applied"


# SMTP enhanced status codes (RFC 3463) an agent meets, in their words.
_SMTP_WORDS = {
    "5.1.1": "the email address does not exist",
    "5.1.2": "the address's domain does not exist",
    "5.1.10": "the email address does not exist",
    "5.2.1": "the mailbox is disabled",
    "5.2.2": "the mailbox is full",
    "5.4.1": "the receiving server refused the address",
    "5.7.1": "the receiving server blocked the email",
}


def bounce_in_words(diagnostic: str | None) -> str:
    """What a permanent bounce means for the agent, without the raw SMTP reply."""
    for code, words in _SMTP_WORDS.items():
        if diagnostic and re.search(rf"(?<![\d.]){re.escape(code)}(?![\d.])", diagnostic):
            return words
    return "the receiving server refused the email for good"


def _stopped_words(source: str) -> str:
    if source == "bounce":
        return "Follow-up emails stopped: the address bounced (it no longer receives email)."
    return "Follow-up emails stopped: the client marked an email as spam."


async def record_complained(
    session: AsyncSession, ns: Namespace, event: ev.EmailComplained, now: datetime
) -> Applied:
    if isinstance(locked := await lock_email(session, event, now), str):
        return locked
    locked.email.complained_at, locked.email.updated_at = event.occurred_at, now
    summary = f"The client marked '{_subject(locked)}' as spam"
    locked.record(session, "email_complained", summary, event.occurred_at)
    await _unsubscribe(session, ns, locked, "complaint", event.occurred_at, now)
    return "applied"


async def _unsubscribe(
    session: AsyncSession,
    ns: Namespace,
    locked: Locked,
    source: Literal["bounce", "complaint"],
    at: datetime,
    now: datetime,
) -> None:
    client = await _client(session, locked)
    reason = "hard bounce" if source == "bounce" else "spam complaint"
    await stop_client_plans(session, client.id, f"client unsubscribed ({reason})", now)
    unsubscribe_client(
        session,
        ns,
        client,
        source=source,
        summary=_stopped_words(source),
        at=at,
        now=now,
        email_id=locked.email.id,
        address=client.email or locked.email.to_email,
    )
    await session.flush()
