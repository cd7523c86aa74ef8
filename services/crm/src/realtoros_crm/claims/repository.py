"""Every statement of the claim, as SQLAlchemy Core against the models' tables, built once
at import and run on the fast path (``realtoros_crm.driver``: a batch is hundreds of rows).

Reads: the due tasks, locked, each with its client, then their agents (typed rows, no ORM
objects). Writes: one statement for all the claimed tasks of a batch, one per other
outcome; each column is one array parameter (``unnest``), so a statement is one prepared
statement whatever the batch size. Writes only, in the caller's transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime, time
from typing import Any, NamedTuple

from sqlalchemy import (
    DateTime,
    Integer,
    LargeBinary,
    Text,
    Uuid,
    any_,
    bindparam,
    cast,
    func,
    insert,
    literal_column,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession

from realtoros_crm.agents.models import Agent
from realtoros_crm.clients.models import Client
from realtoros_crm.driver import array_param, execute, fetch, table, unnest
from realtoros_crm.email_templates.models import EmailTemplate
from realtoros_crm.emails.models import Email
from realtoros_crm.messaging.models import OutboxMessage
from realtoros_crm.plans.models import PlanRun
from realtoros_crm.tasks.models import Task

TASKS, CLIENTS, AGENTS = table(Task), table(Client), table(Agent)
EMAILS, OUTBOX = table(Email), table(OutboxMessage)
TEMPLATES_TABLE = table(EmailTemplate)


class TaskRow(NamedTuple):
    id: uuid.UUID
    agent_id: uuid.UUID
    client_id: uuid.UUID
    plan_run_id: uuid.UUID | None
    purpose: str
    instructions: str | None
    due_at: datetime
    template_id: uuid.UUID | None


class ClientRow(NamedTuple):
    id: uuid.UUID
    agent_id: uuid.UUID
    name: str
    email: str | None
    stage: str
    phone: str | None
    property_address: str | None
    property_type: str | None
    notes: str | None
    custom_fields: dict[str, Any]
    timezone: str | None
    unsubscribed: bool
    deleted_at: datetime | None


class AgentRow(NamedTuple):
    id: uuid.UUID
    name: str
    email: str
    title: str | None
    brokerage: str | None
    phone: str | None
    tone: str | None
    signature: str | None
    postal_address: str | None
    send_mode: str
    replies_to_me: bool
    timezone: str
    sending_days: list[int]
    sending_start: time
    sending_end: time


class DueTask(NamedTuple):
    task: TaskRow
    client: ClientRow
    agent: AgentRow
    email_id: uuid.UUID
    """The id of the email, should the task be claimed."""
    event_id: str
    """The id of its TaskDue."""


class TemplateRow(NamedTuple):
    id: uuid.UUID
    name: str
    subject: str
    body: str


class Claimed(NamedTuple):
    """A claimed task: its new email and its TaskDue's outbox row."""

    task_id: uuid.UUID
    agent_id: uuid.UUID
    client_id: uuid.UUID
    email_id: uuid.UUID
    to_email: str | None
    """None never reaches the claim's insert: a client without an email is skipped."""
    event_id: str
    body: bytes
    headers: str
    """The envelope, JSON."""


_NOW = bindparam("now", type_=DateTime(timezone=True))
# Random (v4) ids made by the server with the row: hundreds of uuid4() cost more in Python.
_IDS = (func.gen_random_uuid(), cast(func.gen_random_uuid(), Text))
_TASK = slice(len(_IDS), len(_IDS) + len(TaskRow._fields))
_CLIENT = slice(_TASK.stop, None)
CLIENT_COLUMNS = ClientRow._fields
_PAUSED = select(PlanRun.id).where(PlanRun.id == Task.plan_run_id, PlanRun.status == "paused")

# Due email tasks only (calls, meetings and custom tasks are the agent's to do), none of a
# paused plan, in due order; only the tasks are locked. Each row: the two new ids, then the
# task's columns, then the client's (in the order of the rows' fields).
DUE_TASKS = (
    select(
        *_IDS, *[TASKS.c[n] for n in TaskRow._fields], *[CLIENTS.c[n] for n in ClientRow._fields]
    )
    .join_from(TASKS, CLIENTS, CLIENTS.c.id == TASKS.c.client_id)
    .where(
        TASKS.c.status == "pending",
        TASKS.c.due_at <= _NOW,
        TASKS.c.task_type == "email",
        ~_PAUSED.exists(),
    )
    .order_by(TASKS.c.due_at, TASKS.c.id)
    .limit(bindparam("limit", type_=Integer))
    .with_for_update(of=TASKS, skip_locked=True)
)
AGENTS_OF = select(*[AGENTS.c[n] for n in AgentRow._fields]).where(
    AGENTS.c.id == any_(array_param("ids", Uuid()))
)
TEMPLATES = select(*[TEMPLATES_TABLE.c[n] for n in TemplateRow._fields]).where(
    TEMPLATES_TABLE.c.id == any_(array_param("ids", Uuid()))
)

# The claimed tasks: their emails, the tasks (which refer to the emails: the foreign key is
# checked at the end of the statement) and the TaskDue outbox rows, in the given order (the
# relay publishes by id), each envelope fixed by the caller.
_NEW = unnest(
    "e",
    ("id", "email_ids", Uuid()),
    ("agent_id", "agent_ids", Uuid()),
    ("client_id", "client_ids", Uuid()),
    ("task_id", "task_ids", Uuid()),
    ("to_email", "to_emails", Text()),
)
_EMAILS = insert(EMAILS).from_select(
    ["id", "agent_id", "client_id", "task_id", "status", "to_email", "created_at", "updated_at"],
    select(*_NEW.c[:4], literal_column("'composing'"), _NEW.c.to_email, _NOW, _NOW),
    include_defaults=False,
)
_PAIRS = unnest("c", ("id", "task_ids", Uuid()), ("email_id", "email_ids", Uuid()))
_TASKS_COMPOSING = (
    update(TASKS)
    .values(status="composing", email_id=_PAIRS.c.email_id, updated_at=_NOW)
    .where(TASKS.c.id == _PAIRS.c.id)
)
_EVENTS = unnest(
    "o",
    ("event_id", "event_ids", Text()),
    ("body", "bodies", LargeBinary()),
    ("headers", "headers", Text()),
    ordered=True,
)
CLAIM = (
    insert(OUTBOX)
    .from_select(
        ["event_id", "subject", "stream", "event_type", "body", "headers"],
        select(
            _EVENTS.c.event_id,
            bindparam("subject", type_=Text),
            bindparam("stream", type_=Text),
            bindparam("event_type", type_=Text),
            _EVENTS.c.body,
            cast(_EVENTS.c.headers, JSONB),
        ).order_by(_EVENTS.c.n),
        include_defaults=False,
    )
    .add_cte(_EMAILS.cte("claimed_emails"))
    .add_cte(_TASKS_COMPOSING.cte("composing_tasks"))
)
_CLOSING = unnest(
    "c", ("id", "ids", Uuid()), ("status", "statuses", Text()), ("reason", "reasons", Text())
)
CLOSE_TASKS = (
    update(TASKS)
    .values(status=_CLOSING.c.status, failure_reason=_CLOSING.c.reason, updated_at=_NOW)
    .where(TASKS.c.id == _CLOSING.c.id)
)
_DEFERRING = unnest("d", ("id", "ids", Uuid()), ("due_at", "due_ats", DateTime(timezone=True)))
DEFER_TASKS = (
    update(TASKS)
    .values(due_at=_DEFERRING.c.due_at, updated_at=_NOW)
    .where(TASKS.c.id == _DEFERRING.c.id)
)


async def lock_due_tasks(session: AsyncSession, now: datetime, limit: int) -> list[DueTask]:
    """Up to ``limit`` due tasks no other transaction holds, in due order, locked, each
    with its client and agent."""
    rows = await fetch(session, DUE_TASKS, now=now, limit=limit)
    if not rows:
        return []
    tasks = [TaskRow._make(row[_TASK]) for row in rows]
    agent_ids = list({task.agent_id for task in tasks})  # a batch is mostly a few agents
    agents = {row[0]: AgentRow._make(row) for row in await fetch(session, AGENTS_OF, ids=agent_ids)}
    return [
        DueTask(task, ClientRow._make(row[_CLIENT]), agents[task.agent_id], row[0], row[1])
        for task, row in zip(tasks, rows, strict=True)
    ]


async def load_templates(
    session: AsyncSession, template_ids: Iterable[uuid.UUID | None]
) -> dict[uuid.UUID, TemplateRow]:
    ids = list({t for t in template_ids if t is not None})
    if not ids:
        return {}
    return {row[0]: TemplateRow._make(row) for row in await fetch(session, TEMPLATES, ids=ids)}


async def insert_claimed(
    session: AsyncSession, claimed: list[Claimed], route: tuple[str, str, str], now: datetime
) -> None:
    """The emails, the tasks composing and the TaskDue outbox rows; ``route`` is the
    TaskDue's (subject, stream, event type)."""
    if not claimed:
        return
    subject, stream, event_type = route
    await execute(
        session,
        CLAIM,
        email_ids=[c.email_id for c in claimed],
        agent_ids=[c.agent_id for c in claimed],
        client_ids=[c.client_id for c in claimed],
        task_ids=[c.task_id for c in claimed],
        to_emails=[c.to_email for c in claimed],
        now=now,
        event_ids=[c.event_id for c in claimed],
        bodies=[c.body for c in claimed],
        headers=[c.headers for c in claimed],
        subject=subject,
        stream=stream,
        event_type=event_type,
    )


async def close_tasks(
    session: AsyncSession, closed: list[tuple[uuid.UUID, str, str]], now: datetime
) -> None:
    """(task id, status, reason) each: skipped or failed."""
    if closed:
        ids, statuses, reasons = (list(column) for column in zip(*closed, strict=True))
        await execute(session, CLOSE_TASKS, ids=ids, statuses=statuses, reasons=reasons, now=now)


async def defer_tasks(
    session: AsyncSession, deferred: list[tuple[uuid.UUID, datetime]], now: datetime
) -> None:
    """(task id, its new due time) each."""
    if deferred:
        ids, due_ats = (list(column) for column in zip(*deferred, strict=True))
        await execute(session, DEFER_TASKS, ids=ids, due_ats=due_ats, now=now)
