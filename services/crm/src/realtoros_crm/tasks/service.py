"""Follow-up tasks, always scoped to their agent. Flushes only: the caller commits."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from realtoros_crm.tasks.models import Task
from realtoros_crm.tasks.schemas import TaskCreate


def _agent_tasks(agent_id: uuid.UUID) -> Select[Task]:
    return select(Task).where(Task.agent_id == agent_id).options(selectinload(Task.email))


async def create_task(
    session: AsyncSession, agent_id: uuid.UUID, data: TaskCreate, *, now: datetime
) -> Task:
    """Add a task for one of the agent's clients (the caller checked the client is theirs)."""
    task = Task(agent_id=agent_id, created_at=now, updated_at=now, email=None, **data.model_dump())
    session.add(task)
    await session.flush()
    return task


async def get_task(session: AsyncSession, agent_id: uuid.UUID, task_id: uuid.UUID) -> Task | None:
    statement = _agent_tasks(agent_id).where(Task.id == task_id)
    return (await session.scalars(statement)).one_or_none()


async def list_tasks(
    session: AsyncSession,
    agent_id: uuid.UUID,
    *,
    status: str | None,
    client_id: uuid.UUID | None,
    limit: int,
    offset: int,
) -> Sequence[Task]:
    statement = _agent_tasks(agent_id)
    if status is not None:
        statement = statement.where(Task.status == status)
    if client_id is not None:
        statement = statement.where(Task.client_id == client_id)
    statement = statement.order_by(Task.due_at, Task.id).limit(limit).offset(offset)
    return (await session.scalars(statement)).all()
