"""Applying the composer's and the mailer's events to an email and its task.

Events about one email arrive on different consumers, so in any order: a status only moves
forward (a late draft never undoes a send) and every change locks the email, then its
task. Flushes only: the caller commits. The draft and the send, once per follow-up each,
go through the statements of ``emails.statements`` (the inbox row included) rather than
the ORM.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, Protocol

from sqlalchemy import Row, select
from sqlalchemy.ext.asyncio import AsyncSession

from realtoros_contracts import ComposeFailed, EmailComposed, EmailFailed, EmailSent
from realtoros_contracts.rendering import missing_details_reason, missing_sender_details
from realtoros_crm.activities.service import SUMMARY_LIMIT, record_activity
from realtoros_crm.emails.models import Email
from realtoros_crm.emails.statements import (
    LOCK_EMAIL,
    LOCK_RUN,
    RUN_HAS_OPEN_TASKS,
    STORE_DRAFT,
    STORE_SENT,
)
from realtoros_crm.messaging.inbox import InboxKey
from realtoros_crm.plans.runs import finish_if_complete
from realtoros_crm.tasks.models import Task

log = logging.getLogger(__name__)


class EmailEvent(Protocol):
    """Any event about one email."""

    @property
    def email_id(self) -> uuid.UUID: ...
    @property
    def agent_id(self) -> uuid.UUID: ...


@dataclass
class Locked:
    email: Email
    task: Task

    def set_status(self, status: str, now: datetime, reason: str | None = None) -> None:
        for row in (self.email, self.task):
            row.status = status
            row.updated_at = now
            row.failure_reason = reason

    def record(self, session: AsyncSession, kind: str, summary: str, at: datetime) -> None:
        record_activity(
            session,
            agent_id=self.email.agent_id,
            client_id=self.email.client_id,
            kind=kind,
            summary=summary,
            occurred_at=at,
            email_id=self.email.id,
            task_id=self.task.id,
        )


async def lock_email(session: AsyncSession, event: EmailEvent) -> Locked | None:
    """The email the event is about and its task, locked; None when the CRM has no such
    email for that agent."""
    statement = select(Email).where(Email.id == event.email_id).with_for_update()
    email = (await session.scalars(statement)).one_or_none()
    if email is None or email.agent_id != event.agent_id:
        return None
    task_query = select(Task).where(Task.id == email.task_id).with_for_update()
    return Locked(email, (await session.scalars(task_query)).one())


Applied = Literal["applied", "duplicate", "unknown"]
"""What became of an event: its effect is applied (or rightly ignored), it was a
redelivery, or the CRM has no such email for that agent."""


async def lock_email_once(
    session: AsyncSession, event: EmailEvent, inbox: InboxKey, now: datetime
) -> Row[Any] | Applied:
    """The inbox row written and the email and its task locked, in one statement: the
    row of ``LOCK_EMAIL``, or why there is nothing to do."""
    params = {**inbox.params(now), "email_id": event.email_id}
    locked = (await session.execute(LOCK_EMAIL, params)).one()
    if not locked.fresh:
        return "duplicate"
    if locked.agent_id is None or locked.agent_id != event.agent_id:
        return "unknown"
    return locked


def _activity(
    event: EmailEvent, locked: Row[Any], kind: str, summary: str, at: datetime
) -> dict[str, Any]:
    return {
        "activity_id": uuid.uuid4(),
        "agent_id": locked.agent_id,
        "client_id": locked.client_id,
        "email_id": event.email_id,
        "task_id": locked.task_id,
        "kind": kind,
        "summary": summary[:SUMMARY_LIMIT],
        "occurred_at": at,
    }


async def record_draft(
    session: AsyncSession, event: EmailComposed, now: datetime, inbox: InboxKey
) -> Applied:
    locked = await lock_email_once(session, event, inbox, now)
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
        "move": locked.status == "composing",
        "status": "awaiting_approval" if held else "sending",
    }
    activity = _activity(event, locked, "email_drafted", summary, now)
    await session.execute(STORE_DRAFT, {**draft, **activity})
    return "applied"


async def record_sent(
    session: AsyncSession, event: EmailSent, now: datetime, inbox: InboxKey
) -> Applied:
    locked = await lock_email_once(session, event, inbox, now)
    if isinstance(locked, str):
        return locked
    sent = {
        "provider_message_id": event.provider_message_id,
        "transport": event.transport,
        "sent_at": event.sent_at,
        "now": now,
    }
    summary = f"Email sent: {locked.subject or '(no subject)'}"
    activity = _activity(event, locked, "email_sent", summary, event.sent_at)
    await session.execute(STORE_SENT, {**sent, **activity})
    await finish_run_if_complete(session, locked.plan_run_id, now)
    return "applied"


async def finish_run_if_complete(
    session: AsyncSession, run_id: uuid.UUID | None, now: datetime
) -> None:
    """``finish_if_complete``, called only when the run is about to be done: its reads
    (the run locked, then its open tasks) without loading the run."""
    if run_id is None:
        return
    if await session.scalar(LOCK_RUN, {"run_id": run_id}) != "active":
        return
    if await session.scalar(RUN_HAS_OPEN_TASKS, {"run_id": run_id}):
        return
    await finish_if_complete(session, run_id, now)


async def record_failure(session: AsyncSession, event: EmailFailed, now: datetime) -> bool:
    if (locked := await lock_email(session, event)) is None:
        return False
    if locked.email.status == "sent":
        log.warning("email %s: ignoring %s after it was sent", event.email_id, event.outcome)
        return True
    locked.set_status(event.outcome, now, event.reason)
    summary = {
        "failed": "Email not sent",
        "skipped": "Email skipped",
        "unknown": "Email send unconfirmed: check before resending",
    }[event.outcome]
    locked.record(session, f"email_{event.outcome}", f"{summary}: {event.reason}", event.failed_at)
    await session.flush()
    await finish_if_complete(session, locked.task.plan_run_id, now)
    return True


async def record_compose_failure(
    session: AsyncSession, event: ComposeFailed, now: datetime
) -> bool:
    if (locked := await lock_email(session, event)) is None:
        return False
    if locked.email.status != "composing":
        log.warning(
            "email %s: ignoring a compose failure in status %s", event.email_id, locked.email.status
        )
        return True
    reason = f"could not compose the email after {event.attempts} attempt(s): {event.reason}"
    locked.set_status("failed", now, reason)
    locked.record(session, "compose_failed", reason, now)
    await session.flush()
    await finish_if_complete(session, locked.task.plan_run_id, now)
    return True
