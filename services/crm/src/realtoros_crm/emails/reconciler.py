"""Nothing stays in flight: the reconciler.

An email is in flight while it is ``composing`` (its TaskDue or DraftRequested is out, the
composer's answer not in yet) or ``sending`` (the mailer's answer not in yet). The runtime
retries outages for as long as they last, so an email stays in flight for long only when a
message was lost for another reason (dead-lettered by a bug, purged by hand). Every
``interval`` the reconciler takes the emails in flight for longer than ``stuck_after`` and
asks again through the normal path, with a fresh event id:

* ``sending`` → EmailApproved with the stored text. The mailer's send ledger is keyed by
  the email id: for an email it sent (or failed, or lost track of) it publishes that
  outcome again instead of sending; only an email it never saw is sent, once.
* ``composing`` → DraftRequested for a draft the agent asked for (on demand, or a
  regeneration: the email already had a draft), TaskDue otherwise.
* a client who can no longer be written to (unsubscribed, deleted) → ``skipped``.

An email asked again is touched (``updated_at``), so it is asked again only after another
``stuck_after``. ``stuck_after`` must exceed JetStream's duplicate window (10 minutes): an
outcome republished with its original id inside the window would be dropped. What it finds
is counted (``realtoros_crm_emails_reconciled``, alert ``RealtorOSEmailsStuckInFlight``):
a stuck email means a bug or an outage that outlasted the bound.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from realtoros_crm.claims.taskdue import ClaimContext
from realtoros_crm.clock import Clock
from realtoros_crm.db import Sessions
from realtoros_crm.emails.drafts import (
    ON_DEMAND_PURPOSE,
    DraftConflict,
    approved_event,
    due_again,
    request_draft,
)
from realtoros_crm.emails.models import Email
from realtoros_crm.messaging.outbox import add_to_outbox
from realtoros_crm.tasks.models import Task
from realtoros_runtime.background import Periodic
from realtoros_runtime.metrics import ServiceMetrics

log = logging.getLogger(__name__)

IN_FLIGHT = ("composing", "sending")
BATCH = 200

Counted = Callable[[str, str], None]
"""Told (status, action) of every email asked for again."""


def _uncounted(status: str, action: str) -> None:
    return None


async def reconcile_once(
    session: AsyncSession,
    ctx: ClaimContext,
    now: datetime,
    stuck_after: timedelta,
    counted: Counted = _uncounted,
) -> int:
    """Ask again for up to BATCH emails stuck in flight; how many were found."""
    statement = (
        select(Email, Task)
        .join(Task, Task.id == Email.task_id)
        .where(Email.status.in_(IN_FLIGHT), Email.updated_at < now - stuck_after)
        .order_by(Email.updated_at)
        .limit(BATCH)
        .with_for_update(of=Email, skip_locked=True)
    )
    found = (await session.execute(statement)).tuples().all()
    for email, task in found:
        status, since = email.status, email.updated_at
        action = await _ask_again(session, ctx, task, email, now)
        counted(status, action)
        log.warning("email %s was %s since %s: %s", email.id, status, since, action)
        email.updated_at = task.updated_at = now
    await session.flush()
    return len(found)


async def _ask_again(
    session: AsyncSession, ctx: ClaimContext, task: Task, email: Email, now: datetime
) -> str:
    try:
        if email.status == "sending":
            approved = await approved_event(session, ctx, task, email)
            event_id = f"approved:{email.id}:reconciled:{uuid.uuid4()}"
            add_to_outbox(session, ctx.ns, approved, event_id=event_id, now=now)
            return "send-asked-again"
        if task.purpose == ON_DEMAND_PURPOSE or email.composer is not None:
            await request_draft(session, ctx, task, email, regenerate=False, now=now)
            return "draft-asked-again"
        due = await due_again(session, ctx, task, email)
        event_id = f"due:{email.id}:reconciled:{uuid.uuid4()}"
        add_to_outbox(session, ctx.ns, due, event_id=event_id, now=now)
        return "compose-asked-again"
    except DraftConflict as exc:
        email.status = task.status = "skipped"
        email.failure_reason = task.failure_reason = str(exc)
        return "skipped"


class Reconciler:
    """Runs ``reconcile_once`` every ``interval`` seconds, one transaction per batch."""

    def __init__(
        self,
        sessions: Sessions,
        ctx: ClaimContext,
        clock: Clock,
        *,
        stuck_after: timedelta,
        interval: float,
        on_commit: Callable[[], None] = lambda: None,
        metrics: ServiceMetrics | None = None,
    ) -> None:
        self._counted = _uncounted
        if metrics is not None:
            reconciled = metrics.counter(
                "emails_reconciled",
                "Emails found in flight longer than the bound and asked again (or skipped).",
                ["status", "action"],
            )
            self._counted = lambda status, action: reconciled.labels(status, action).inc()
        self._sessions = sessions
        self._ctx = ctx
        self._clock = clock
        self._stuck_after = stuck_after
        self._on_commit = on_commit
        self._periodic = Periodic("crm-reconciler", self.run_once, interval, wait_first=True)

    async def run_once(self) -> int:
        total = 0
        while True:
            async with self._sessions() as session, session.begin():
                found = await reconcile_once(
                    session, self._ctx, self._clock(), self._stuck_after, self._counted
                )
            if found:
                self._on_commit()  # wake the relay
            total += found
            if found < BATCH:
                return total

    def start(self) -> None:
        self._periodic.start()

    async def stop(self) -> None:
        await self._periodic.stop()
