"""The agent's follow-up tasks."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, status

from realtoros_crm.api.deps import CurrentAgent, SessionDep, StateDep
from realtoros_crm.clients.service import get_client
from realtoros_crm.tasks.models import TaskStatus
from realtoros_crm.tasks.schemas import TaskCreate, TaskPublic
from realtoros_crm.tasks.service import create_task, get_task, list_tasks

router = APIRouter(prefix="/tasks", tags=["tasks"])


@router.post("", status_code=status.HTTP_201_CREATED)
async def add_task(
    data: TaskCreate, agent: CurrentAgent, session: SessionDep, state: StateDep
) -> TaskPublic:
    """Schedule a follow-up email to one of the agent's clients."""
    if await get_client(session, agent.id, data.client_id) is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"client {data.client_id} not found")
    task = await create_task(session, agent.id, data, now=state.clock())
    await session.commit()
    return TaskPublic.model_validate(task)


@router.get("")
async def read_tasks(
    agent: CurrentAgent,
    session: SessionDep,
    status_filter: Annotated[TaskStatus | None, Query(alias="status")] = None,
    client_id: uuid.UUID | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> list[TaskPublic]:
    """The agent's tasks, soonest due first; filter by status or client."""
    tasks = await list_tasks(
        session, agent.id, status=status_filter, client_id=client_id, limit=limit, offset=offset
    )
    return [TaskPublic.model_validate(task) for task in tasks]


@router.get("/{task_id}")
async def read_task(task_id: uuid.UUID, agent: CurrentAgent, session: SessionDep) -> TaskPublic:
    """One task with its status, failure reason and email (once claimed)."""
    task = await get_task(session, agent.id, task_id)
    if task is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"task {task_id} not found")
    return TaskPublic.model_validate(task)
