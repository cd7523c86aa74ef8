"""Follow-up tasks, always scoped to their agent. Flushes only: the caller commits."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from realtoros_crm.email_templates.service import check_owned
from realtoros_crm.plans.models import PlanRun
from realtoros_crm.plans.window import zone_or_utc
from realtoros_crm.tasks.models import Task
from realtoros_crm.tasks.schemas import TaskCreate

TaskQuery = Select[Task]


def _agent_tasks(agent_id: uuid.UUID) -> TaskQuery:
    return select(Task).where(Task.agent_id == agent_id).options(selectinload(Task.email))


async def create_task(
    session: AsyncSession, agent_id: uuid.UUID, data: TaskCreate, *, now: datetime
) -> Task:
    """Add a task for one of the agent's clients (the caller checked the client is theirs);
    :class:`~realtoros_crm.email_templates.service.TemplateNotFound` for another's template."""
    await check_owned(session, agent_id, [data.template_id])
    task = Task(agent_id=agent_id, created_at=now, updated_at=now, email=None, **data.model_dump())
    session.add(task)
    await session.flush()
    return task


async def get_task(
    session: AsyncSession, agent_id: uuid.UUID, task_id: uuid.UUID, *, lock: bool = False
) -> Task | None:
    statement = _agent_tasks(agent_id).where(Task.id == task_id)
    if lock:
        statement = statement.with_for_update(of=Task)
    return (await session.scalars(statement)).one_or_none()


def local_day_bounds(now: datetime, zone_name: str) -> tuple[datetime, datetime]:
    """[start, end) of ``now``'s day in the zone, as instants."""
    zone = zone_or_utc(zone_name)
    day = now.astimezone(zone).date()
    start = datetime.combine(day, time(0), tzinfo=zone)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)
    return start, end


@dataclass
class TaskFilter:
    """Filters that combine (AND); several statuses are a union."""

    statuses: list[str] = field(default_factory=list)
    task_types: list[str] = field(default_factory=list)
    client_id: uuid.UUID | None = None
    plan_id: uuid.UUID | None = None
    plan_run_id: uuid.UUID | None = None
    overdue: bool = False
    due_today: bool = False
    due_from: datetime | None = None
    due_to: datetime | None = None

    def apply(self, statement: TaskQuery, now: datetime, zone: str) -> TaskQuery:
        if self.statuses:
            statement = statement.where(Task.status.in_(self.statuses))
        if self.task_types:
            statement = statement.where(Task.task_type.in_(self.task_types))
        if self.client_id is not None:
            statement = statement.where(Task.client_id == self.client_id)
        if self.plan_run_id is not None:
            statement = statement.where(Task.plan_run_id == self.plan_run_id)
        if self.plan_id is not None:
            runs = select(PlanRun.id).where(PlanRun.plan_id == self.plan_id)
            statement = statement.where(Task.plan_run_id.in_(runs))
        if self.overdue:  # due and still not handled
            statement = statement.where(Task.status == "pending", Task.due_at < now)
        if self.due_today:
            start, end = local_day_bounds(now, zone)
            statement = statement.where(Task.due_at >= start, Task.due_at < end)
        if self.due_from is not None:
            statement = statement.where(Task.due_at >= self.due_from)
        if self.due_to is not None:
            statement = statement.where(Task.due_at < self.due_to)
        return statement


async def list_tasks(
    session: AsyncSession,
    agent_id: uuid.UUID,
    filters: TaskFilter,
    *,
    now: datetime,
    zone: str,
    limit: int,
    offset: int,
) -> Sequence[Task]:
    statement = filters.apply(_agent_tasks(agent_id), now, zone)
    statement = statement.order_by(Task.due_at, Task.id).limit(limit).offset(offset)
    return (await session.scalars(statement)).all()


async def next_tasks(
    session: AsyncSession, agent_id: uuid.UUID, client_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, Task]:
    """Each client's next open task (the earliest still pending), for the client list."""
    if not client_ids:
        return {}
    statement = (
        select(Task)
        .where(
            Task.agent_id == agent_id,
            Task.client_id.in_(client_ids),
            Task.status.in_(("pending", "awaiting_approval")),
        )
        .order_by(Task.client_id, Task.due_at)
        .distinct(Task.client_id)
    )
    return {task.client_id: task for task in (await session.scalars(statement)).all()}
