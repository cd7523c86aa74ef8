"""What a claim reads: the due tasks, locked, with their clients; their agents; the
clients' recent timelines — as plain tuples (no ORM objects: a batch is hundreds of rows),
through claims/sql.py."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime, time
from typing import Any, NamedTuple

from sqlalchemy import DateTime, Integer, Select, Text, Uuid, any_, bindparam, cast, func, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession

from realtoros_crm.activities.models import Activity
from realtoros_crm.agents.models import Agent
from realtoros_crm.claims.sql import fetch
from realtoros_crm.clients.models import Client
from realtoros_crm.emails.models import Email  # noqa: F401  (Task's relationship needs it mapped)
from realtoros_crm.plans.models import PlanRun
from realtoros_crm.tasks.models import Task

TIMELINE_LENGTH = 10


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


# Random (v4) ids made by the server with the row: hundreds of uuid4() cost more in Python.
_IDS = [func.gen_random_uuid(), cast(func.gen_random_uuid(), Text)]
_TASK_AT = len(_IDS)
_CLIENT_AT = _TASK_AT + len(TaskRow._fields)
_UUIDS = ARRAY(Uuid())


def _due_statement() -> Select[Any]:
    """Due email tasks only (calls, meetings and custom tasks are the agent's to do), and
    none of a paused plan; only the tasks are locked."""
    paused = select(PlanRun.id).where(PlanRun.id == Task.plan_run_id, PlanRun.status == "paused")
    return (
        select(
            *_IDS,
            *[getattr(Task, name) for name in TaskRow._fields],
            *[getattr(Client, name) for name in ClientRow._fields],
        )
        .join(Client, Client.id == Task.client_id)
        .where(
            Task.status == "pending",
            Task.due_at <= bindparam("now", type_=DateTime(timezone=True)),
            Task.task_type == "email",
            ~paused.exists(),
        )
        .order_by(Task.due_at, Task.id)
        .limit(bindparam("limit", type_=Integer))
        .with_for_update(of=Task, skip_locked=True)
    )


def _agents_statement() -> Select[Any]:
    columns = [getattr(Agent, name) for name in AgentRow._fields]
    return select(*columns).where(Agent.id == any_(bindparam("ids", type_=_UUIDS)))


def _timelines_statement() -> Select[Any]:
    """The last activities of each client, oldest first."""
    rank = (
        func.row_number()
        .over(partition_by=Activity.client_id, order_by=Activity.occurred_at.desc())
        .label("rank")
    )
    ranked = (
        select(Activity.client_id, Activity.occurred_at, Activity.kind, Activity.summary, rank)
        .where(Activity.client_id == any_(bindparam("ids", type_=_UUIDS)))
        .subquery()
    )
    return (
        select(ranked.c.client_id, ranked.c.occurred_at, ranked.c.kind, ranked.c.summary)
        .where(ranked.c.rank <= TIMELINE_LENGTH)
        .order_by(ranked.c.client_id, ranked.c.occurred_at)
    )


async def lock_due_rows(session: AsyncSession, now: datetime, limit: int) -> list[DueTask]:
    """Up to ``limit`` due tasks no other transaction holds, in due order, locked."""
    rows = await fetch(session, _due_statement, now=now, limit=limit)
    if not rows:
        return []
    agent_ids = list({row[_TASK_AT + 1] for row in rows})  # a batch is mostly a few agents
    agent_rows = await fetch(session, _agents_statement, ids=agent_ids)
    agents = {row[0]: AgentRow._make(row) for row in agent_rows}
    due = []
    for row in rows:
        task = TaskRow._make(row[_TASK_AT:_CLIENT_AT])
        client = ClientRow._make(row[_CLIENT_AT:])
        due.append(DueTask(task, client, agents[task.agent_id], row[0], row[1]))
    return due


async def recent_timeline_rows(
    session: AsyncSession, client_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, list[dict[str, Any]]]:
    """The last activities of each client, oldest first, in one query, as the TaskDue's
    ``timeline`` entries (plain data: the event validates them)."""
    ids = list(set(client_ids))
    timelines: dict[uuid.UUID, list[dict[str, Any]]] = {client_id: [] for client_id in ids}
    if ids:
        for client_id, at, kind, summary in await fetch(session, _timelines_statement, ids=ids):
            timelines[client_id].append({"at": at, "kind": kind, "summary": summary})
    return timelines
