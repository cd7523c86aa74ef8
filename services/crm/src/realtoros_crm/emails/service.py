"""Applying the composer's and the mailer's events to an email and its task.

Events about one email arrive on different consumers, so in any order: a status only moves
forward (a late draft never undoes a send) and every change locks the email, then its
task. Flushes only: the caller commits.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from realtoros_contracts import ComposeFailed, EmailComposed, EmailFailed, EmailSent
from realtoros_crm.activities.service import record_activity
from realtoros_crm.clients.models import Client
from realtoros_crm.emails.models import Email
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


async def record_draft(session: AsyncSession, event: EmailComposed, now: datetime) -> bool:
    if (locked := await lock_email(session, event)) is None:
        return False
    email = locked.email
    if email.status != "composing" and (email.edited_at or email.approved_at):
        # A late draft never overwrites the text the agent edited or approved.
        log.info("email %s: ignoring a late draft (edited or approved)", event.email_id)
        return True
    email.subject, email.body_text = event.subject, event.body_text
    email.composer, email.model = event.composer, event.model
    email.needs_review, email.review_reasons = event.needs_review, list(event.review_reasons)
    email.updated_at = now
    held = event.needs_review or event.delivery.send_mode == "approval"
    if email.status == "composing":
        locked.set_status("awaiting_approval" if held else "sending", now)
    summary = f"Email drafted: {event.subject}"
    if event.needs_review:
        summary += " (needs review: " + ("; ".join(event.review_reasons) or "flagged") + ")"
    locked.record(session, "email_drafted", summary, now)
    await session.flush()
    return True


async def record_sent(session: AsyncSession, event: EmailSent, now: datetime) -> bool:
    if (locked := await lock_email(session, event)) is None:
        return False
    email = locked.email
    email.provider_message_id, email.transport = event.provider_message_id, event.transport
    email.sent_at = event.sent_at
    locked.set_status("sent", now)  # the transport took it: that overrides anything else
    client_query = select(Client).where(Client.id == email.client_id).with_for_update()
    client = (await session.scalars(client_query)).one()
    if client.last_contacted_at is None or client.last_contacted_at < event.sent_at:
        client.last_contacted_at = event.sent_at
    client.updated_at = now
    locked.record(
        session, "email_sent", f"Email sent: {email.subject or '(no subject)'}", event.sent_at
    )
    await session.flush()
    await finish_if_complete(session, locked.task.plan_run_id, now)
    return True


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
