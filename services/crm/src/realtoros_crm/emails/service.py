"""Recording the composer's and the mailer's events on an email and its task.

Events about one email arrive on different consumers, so in any order: a status only moves
forward (a late draft never undoes a send) and every change locks the email, then its
task (emails/repository.py). Each recorder is ``record_x(session, event, now) -> Applied``
and never commits: the consumer does.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from realtoros_contracts import ComposeFailed, EmailComposed, EmailFailed, EmailSent
from realtoros_contracts.rendering import missing_details_reason, missing_sender_details
from realtoros_crm.emails.repository import (
    Locked,
    LockedRow,
    activity_params,
    load_locked,
    lock_email_row,
    store_draft,
    store_sent,
)
from realtoros_crm.messaging.recording import Applied
from realtoros_crm.plans.lifecycle import finish_if_complete

log = logging.getLogger(__name__)


class EmailEvent(Protocol):
    """Any event about one email."""

    @property
    def email_id(self) -> uuid.UUID: ...
    @property
    def agent_id(self) -> uuid.UUID: ...


async def lock_email_once(
    session: AsyncSession, event: EmailEvent, now: datetime
) -> LockedRow | Applied:
    """The delivery's inbox row written and the email and its task locked, in one
    statement: the row of ``LOCK_EMAIL``, or why there is nothing to do."""
    locked = await lock_email_row(session, event.email_id, now)
    if not locked.fresh:
        return "duplicate"
    if locked.agent_id is None or locked.agent_id != event.agent_id:
        return "unknown"
    return locked


async def lock_email(session: AsyncSession, event: EmailEvent, now: datetime) -> Locked | Applied:
    """``lock_email_once``, then the email and its task as ORM objects."""
    locked = await lock_email_once(session, event, now)
    if isinstance(locked, str):
        return locked
    return await load_locked(session, event.email_id)


async def record_draft(session: AsyncSession, event: EmailComposed, now: datetime) -> Applied:
    locked = await lock_email_once(session, event, now)
    if isinstance(locked, str):
        return locked
    if locked.status != "composing" and locked.touched:
        # A late draft never overwrites the text the agent edited or approved.
        log.info("email %s: ignoring a late draft (edited or approved)", event.email_id)
        return "applied"
    reasons = list(event.review_reasons)
    if missing := missing_sender_details(event.delivery):  # the mailer did not send it
        reasons.append(missing_details_reason(missing))
    needs_review = event.needs_review or bool(missing)
    # Held: the client replied while it was being composed (the mailer, told by
    # EmailHeld, does not send it either): it waits for the agent.
    held = needs_review or event.delivery.send_mode == "approval" or bool(locked.held)
    summary = f"Email drafted: {event.subject}"
    if needs_review:
        summary += " (needs review: " + ("; ".join(reasons) or "flagged") + ")"
    elif locked.held:
        summary += " (held: the client replied while it was being written)"
    draft = {
        "subject": event.subject,
        "body_text": event.body_text,
        "composer": event.composer,
        "model": event.model,
        "needs_review": needs_review,
        "review_reasons": reasons,
        "now": now,
        "status": "awaiting_approval" if held else "sending",
    }
    activity = activity_params(event.email_id, locked, "email_drafted", summary, now)
    await store_draft(session, locked.status == "composing", draft | activity)
    return "applied"


async def record_sent(session: AsyncSession, event: EmailSent, now: datetime) -> Applied:
    locked = await lock_email_once(session, event, now)
    if isinstance(locked, str):
        return locked
    sent = {
        "provider_message_id": event.provider_message_id,
        "transport": event.transport,
        "sent_at": event.sent_at,
        "now": now,
    }
    summary = f"Email sent: {locked.subject or '(no subject)'}"
    activity = activity_params(event.email_id, locked, "email_sent", summary, event.sent_at)
    await store_sent(session, sent | activity)
    await finish_if_complete(session, locked.plan_run_id, now)
    return "applied"


async def record_failure(session: AsyncSession, event: EmailFailed, now: datetime) -> Applied:
    if isinstance(locked := await lock_email(session, event, now), str):
        return locked
    if locked.email.status == "sent":
        log.warning("email %s: ignoring %s after it was sent", event.email_id, event.outcome)
        return "applied"
    locked.set_status(event.outcome, now, event.reason)
    summary = {
        "failed": "Email not sent",
        "skipped": "Email skipped",
        "unknown": "Email send unconfirmed: check before resending",
    }[event.outcome]
    locked.record(session, f"email_{event.outcome}", f"{summary}: {event.reason}", event.failed_at)
    await session.flush()
    await finish_if_complete(session, locked.task.plan_run_id, now)
    return "applied"


async def record_compose_failure(
    session: AsyncSession, event: ComposeFailed, now: datetime
) -> Applied:
    if isinstance(locked := await lock_email(session, event, now), str):
        return locked
    if locked.email.status != "composing":
        log.warning(
            "email %s: ignoring a compose failure in status %s", event.email_id, locked.email.status
        )
        return "applied"
    reason = f"could not compose the email after {event.attempts} attempt(s): {event.reason}"
    locked.set_status("failed", now, reason)
    locked.record(session, "compose_failed", reason, now)
    await session.flush()
    await finish_if_complete(session, locked.task.plan_run_id, now)
    return "applied"
