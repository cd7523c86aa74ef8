"""Every statement that records an event on an email, as SQLAlchemy Core against the
models' tables, built once at import and compiled once (the writes run on the fast path,
``realtoros_crm.driver``; asyncpg keeps their prepared statements per connection).

An event's recorder locks the email and its task first — in the statement that writes the
delivery's inbox row (``lock_email_row``): one round trip — then writes its effect. The
draft and the send, once per follow-up each, write theirs in one statement (CTEs, the
timeline entry last) and load no ORM object; the provider's reports, rarer, go through the
ORM (``lock_email``). Never commits: the consumer does.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import (
    Boolean,
    DateTime,
    Integer,
    String,
    Uuid,
    bindparam,
    column,
    exists,
    func,
    insert,
    select,
    true,
    update,
    values,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession

from realtoros_crm.activities.models import Activity
from realtoros_crm.activities.repository import (
    SUMMARY_LIMIT,
    record_email_activity,
)
from realtoros_crm.clients.models import Client
from realtoros_crm.driver import execute, fetch, table
from realtoros_crm.emails.models import Email
from realtoros_crm.messaging.inbox import FIRST_DELIVERY, pending_delivery
from realtoros_crm.tasks.models import Task

EMAILS, TASKS, CLIENTS, ACTIVITIES = table(Email), table(Task), table(Client), table(Activity)
_NOW = bindparam("now", type_=DateTime(timezone=True))
_EMAIL_ID = bindparam("email_id", type_=Uuid)
_TASK_ID = bindparam("task_id", type_=Uuid)


async def add_email_task(
    session: AsyncSession,
    client: Client,
    *,
    purpose: str,
    status: str,
    at: datetime,
    instructions: str | None = None,
    failure_reason: str | None = None,
    **email_fields: Any,
) -> tuple[Task, Email]:
    """A new email task for the client, due ``at``, and its email (``email_fields``: what
    the email already holds, e.g. its subject), both in ``status``."""
    task = Task(
        agent_id=client.agent_id,
        client_id=client.id,
        task_type="email",
        purpose=purpose,
        instructions=instructions,
        due_at=at,
        status=status,
        created_at=at,
        updated_at=at,
        email=None,
        failure_reason=failure_reason,
    )
    session.add(task)
    await session.flush()  # the task first: the email refers to it
    email = Email(
        agent_id=client.agent_id,
        client_id=client.id,
        task_id=task.id,
        status=status,
        to_email=client.email,
        created_at=at,
        updated_at=at,
        failure_reason=failure_reason,
        **email_fields,
    )
    session.add(email)
    await session.flush()
    task.email = email
    return task, email


def moved(status: Any, now: Any, reason: Any = None) -> dict[str, Any]:
    """What moving an email and its task to ``status`` writes on each of them (values or
    bind parameters): a status change sets the failure reason, or clears it."""
    return {"status": status, "updated_at": now, "failure_reason": reason}


def _lock_email(with_inbox: bool) -> Any:
    """The email and its task locked (email first), once the delivery's inbox row is in:
    always one row — ``fresh`` 0 for a redelivery, the email's columns NULL when there is
    no such email. FOR UPDATE lives in a CTE, where the outer join cannot reach it."""
    locked = (
        select(
            EMAILS.c.agent_id,
            EMAILS.c.client_id,
            EMAILS.c.task_id,
            EMAILS.c.status,
            EMAILS.c.subject,
            (EMAILS.c.edited_at.is_not(None) | EMAILS.c.approved_at.is_not(None)).label("touched"),
            EMAILS.c.held_at.is_not(None).label("held"),
            TASKS.c.plan_run_id,
        )
        .join_from(EMAILS, TASKS, TASKS.c.id == EMAILS.c.task_id)
        .where(EMAILS.c.id == _EMAIL_ID)
        .with_for_update(of=[EMAILS, TASKS])
    )
    one = values(column("one", Integer), name="one").data([(1,)])
    if not with_inbox:
        fresh: Any = bindparam("fresh", 1, type_=Integer)
    else:
        first = FIRST_DELIVERY.cte("first_delivery")
        locked = locked.where(exists(select(first.c.event_id)))
        fresh = select(func.count()).select_from(first).scalar_subquery()
    cte = locked.cte("locked")
    return select(fresh.label("fresh"), *cte.c).select_from(one.outerjoin(cte, true()))


LOCK_EMAIL = {True: _lock_email(True), False: _lock_email(False)}

_ACTIVITY = insert(ACTIVITIES).values(
    id=bindparam("activity_id", type_=Uuid),
    agent_id=bindparam("agent_id", type_=Uuid),
    client_id=bindparam("client_id", type_=Uuid),
    kind=bindparam("kind", type_=String),
    summary=bindparam("summary", type_=String),
    occurred_at=bindparam("occurred_at", type_=DateTime(timezone=True)),
    email_id=_EMAIL_ID,
    task_id=_TASK_ID,
)


def _store_draft(move: bool) -> Any:
    """The draft on the email; when the email is ``composing``, the email and its task move
    on (``moved``) to ``:status``."""
    text = {
        name: bindparam(name, type_=String)
        for name in ("subject", "body_text", "composer", "model")
    }
    draft = {
        **text,
        "needs_review": bindparam("needs_review", type_=Boolean),
        "review_reasons": bindparam("review_reasons", type_=JSONB),
        "updated_at": _NOW,
    }
    status = bindparam("status", type_=String)
    if move:
        draft |= moved(status, _NOW)
    statement = _ACTIVITY.add_cte(
        update(EMAILS).values(**draft).where(EMAILS.c.id == _EMAIL_ID).cte("draft")
    )
    if move:
        task = update(TASKS).values(**moved(status, _NOW)).where(TASKS.c.id == _TASK_ID)
        statement = statement.add_cte(task.cte("task"))
    return statement


STORE_DRAFT = {True: _store_draft(True), False: _store_draft(False)}

# Sent overrides any status; the client's last contact only moves forward (GREATEST
# ignores a NULL).
_SENT_AT = bindparam("sent_at", type_=DateTime(timezone=True))
STORE_SENT = (
    _ACTIVITY.add_cte(
        update(EMAILS)
        .values(
            provider_message_id=bindparam("provider_message_id", type_=String),
            transport=bindparam("transport", type_=String),
            sent_at=_SENT_AT,
            **moved("sent", _NOW),
        )
        .where(EMAILS.c.id == _EMAIL_ID)
        .cte("email")
    )
    .add_cte(update(TASKS).values(**moved("sent", _NOW)).where(TASKS.c.id == _TASK_ID).cte("task"))
    .add_cte(
        update(CLIENTS)
        .values(
            last_contacted_at=func.greatest(CLIENTS.c.last_contacted_at, _SENT_AT), updated_at=_NOW
        )
        .where(CLIENTS.c.id == bindparam("client_id", type_=Uuid))
        .cte("client")
    )
)


class LockedRow(NamedTuple):
    """The row of ``LOCK_EMAIL``: all None but ``fresh`` without such an email."""

    fresh: int
    agent_id: uuid.UUID | None
    client_id: uuid.UUID | None
    task_id: uuid.UUID | None
    status: str | None
    subject: str | None
    touched: bool | None
    held: bool | None
    """The client replied while the email was being composed."""
    plan_run_id: uuid.UUID | None


async def lock_email_row(session: AsyncSession, email_id: uuid.UUID, now: datetime) -> LockedRow:
    """The row of ``LOCK_EMAIL``, with the pending delivery's inbox row written (on the
    fast path: once per event)."""
    key = pending_delivery(session)
    params: dict[str, Any] = {"email_id": email_id, "now": now}
    if key is not None:
        params |= key.params(now)
    (row,) = await fetch(session, LOCK_EMAIL[key is not None], **params)
    return LockedRow._make(row)


def activity_params(
    email_id: uuid.UUID, locked: LockedRow, kind: str, summary: str, at: datetime
) -> dict[str, Any]:
    """The bind parameters of a statement's timeline entry about the locked email."""
    return {
        "activity_id": uuid.uuid4(),
        "agent_id": locked.agent_id,
        "client_id": locked.client_id,
        "email_id": email_id,
        "task_id": locked.task_id,
        "kind": kind,
        "summary": summary[:SUMMARY_LIMIT],
        "occurred_at": at,
    }


async def store_draft(session: AsyncSession, move: bool, params: dict[str, Any]) -> None:
    """``STORE_DRAFT`` (``review_reasons``: a list of strings)."""
    reasons = json.dumps(params["review_reasons"])  # the connection's JSONB codec takes text
    await execute(session, STORE_DRAFT[move], **(params | {"review_reasons": reasons}))


async def store_sent(session: AsyncSession, params: dict[str, Any]) -> None:
    await execute(session, STORE_SENT, **params)


@dataclass
class Locked:
    """An email and its task, locked, as ORM objects (the provider's reports)."""

    email: Email
    task: Task

    def set_status(self, status: str, now: datetime, reason: str | None = None) -> None:
        for row in (self.email, self.task):
            for name, value in moved(status, now, reason).items():
                setattr(row, name, value)

    def record(self, session: AsyncSession, kind: str, summary: str, at: datetime) -> None:
        record_email_activity(session, self.email, kind, summary, at)


async def load_locked(session: AsyncSession, email_id: uuid.UUID) -> Locked:
    """The email and its task (which ``lock_email_row`` locked) as ORM objects."""
    statement = select(Email, Task).join(Task, Task.id == Email.task_id)
    email, task = (await session.execute(statement.where(Email.id == email_id))).one()
    return Locked(email, task)
