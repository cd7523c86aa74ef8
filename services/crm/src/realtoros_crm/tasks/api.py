"""The agent's tasks: follow-up emails, calls, meetings and custom to-dos."""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import date, timedelta
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, status

from realtoros_crm.api.deps import CurrentAgent, SessionDep, StateDep
from realtoros_crm.api.problems import found
from realtoros_crm.clients.service import get_client
from realtoros_crm.fields import ZonedDatetime
from realtoros_crm.plans.window import zone_or_utc
from realtoros_crm.tasks.actions import TaskConflict, finish_task, reschedule_task
from realtoros_crm.tasks.models import Task, TaskStatus, TaskType
from realtoros_crm.tasks.schemas import (
    BulkProblem,
    BulkRequest,
    BulkResult,
    CalendarDay,
    TaskCreate,
    TaskPublic,
    TaskUpdate,
)
from realtoros_crm.tasks.service import TaskFilter, create_task, get_task, list_tasks

router = APIRouter(prefix="/tasks", tags=["tasks"])

CALENDAR_MAX_DAYS = 93


@router.post("", status_code=status.HTTP_201_CREATED)
async def add_task(
    data: TaskCreate, agent: CurrentAgent, session: SessionDep, state: StateDep
) -> TaskPublic:
    """Schedule a follow-up email, a call, a meeting or a custom task for a client."""
    found(await get_client(session, agent.id, data.client_id), "client", data.client_id)
    task = await create_task(session, agent.id, data, now=state.clock())
    await session.flush()  # the response shows the ids and defaults
    return TaskPublic.model_validate(task)


@router.get("")
async def read_tasks(
    agent: CurrentAgent,
    session: SessionDep,
    state: StateDep,
    statuses: Annotated[list[TaskStatus] | None, Query(alias="status")] = None,
    task_types: Annotated[list[TaskType] | None, Query(alias="type")] = None,
    client_id: uuid.UUID | None = None,
    plan_id: uuid.UUID | None = None,
    plan_run_id: uuid.UUID | None = None,
    overdue: bool = False,
    due_today: bool = False,
    due_from: Annotated[ZonedDatetime | None, Query(alias="from")] = None,
    due_to: Annotated[ZonedDatetime | None, Query(alias="to")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> list[TaskPublic]:
    """The agent's tasks, soonest due first. Filters combine; ``status`` may repeat (any
    of them); ``overdue`` is pending and past due; ``due_today`` is in the agent's zone."""
    filters = TaskFilter(
        statuses=list(statuses or []),
        task_types=list(task_types or []),
        client_id=client_id,
        plan_id=plan_id,
        plan_run_id=plan_run_id,
        overdue=overdue,
        due_today=due_today,
        due_from=due_from,
        due_to=due_to,
    )
    tasks = await list_tasks(
        session,
        agent.id,
        filters,
        now=state.clock(),
        zone=agent.timezone,
        limit=limit,
        offset=offset,
    )
    return [TaskPublic.model_validate(task) for task in tasks]


@router.get("/calendar")
async def read_calendar(
    agent: CurrentAgent,
    session: SessionDep,
    state: StateDep,
    due_from: Annotated[ZonedDatetime, Query(alias="from")],
    due_to: Annotated[ZonedDatetime, Query(alias="to")],
) -> list[CalendarDay]:
    """Tasks due in [from, to), by day in the agent's time zone (days without tasks left out)."""
    if not timedelta(0) < due_to - due_from <= timedelta(days=CALENDAR_MAX_DAYS):
        detail = f"'to' must be after 'from', at most {CALENDAR_MAX_DAYS} days later"
        raise HTTPException(422, detail)
    filters = TaskFilter(due_from=due_from, due_to=due_to)
    tasks = await list_tasks(
        session, agent.id, filters, now=state.clock(), zone=agent.timezone, limit=5000, offset=0
    )
    zone = zone_or_utc(agent.timezone)
    days: dict[date, list[TaskPublic]] = defaultdict(list)
    for task in tasks:
        days[task.due_at.astimezone(zone).date()].append(TaskPublic.model_validate(task))
    return [CalendarDay(date=day, tasks=items) for day, items in sorted(days.items())]


@router.post("/bulk")
async def bulk_tasks(
    data: BulkRequest, agent: CurrentAgent, session: SessionDep, state: StateDep
) -> BulkResult:
    """Complete, skip, cancel or reschedule several tasks; each one that cannot is listed."""
    now, result = state.clock(), BulkResult(updated=[], not_done=[])
    for task_id in dict.fromkeys(data.task_ids):
        task = await get_task(session, agent.id, task_id, lock=True)
        if task is None:
            result.not_done.append(BulkProblem(task_id=task_id, detail="task not found"))
            continue
        try:
            if data.action == "reschedule":
                await reschedule_task(session, task, TaskUpdate(due_at=data.due_at), now)
            else:
                await finish_task(session, task, data.action, now, ns=state.bus.ns)
        except TaskConflict as exc:
            result.not_done.append(BulkProblem(task_id=task_id, detail=str(exc)))
            continue
        result.updated.append(task_id)
    return result


async def _task(session: SessionDep, agent: CurrentAgent, task_id: uuid.UUID) -> Task:
    return found(await get_task(session, agent.id, task_id, lock=True), "task", task_id)


@router.get("/{task_id}")
async def read_task(task_id: uuid.UUID, agent: CurrentAgent, session: SessionDep) -> TaskPublic:
    """One task with its status, failure reason and email (once claimed)."""
    task = found(await get_task(session, agent.id, task_id), "task", task_id)
    return TaskPublic.model_validate(task)


@router.patch("/{task_id}")
async def change_task(
    task_id: uuid.UUID, data: TaskUpdate, agent: CurrentAgent, session: SessionDep, state: StateDep
) -> TaskPublic:
    """Reschedule (``due_at``) or edit a pending task."""
    task = await _task(session, agent, task_id)
    try:
        await reschedule_task(session, task, data, state.clock())
    except TaskConflict as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc
    await session.flush()  # the response shows the ids and defaults
    return TaskPublic.model_validate(task)


@router.post("/{task_id}/{action}")
async def act_on_task(
    task_id: uuid.UUID, action: str, agent: CurrentAgent, session: SessionDep, state: StateDep
) -> TaskPublic:
    """``complete``, ``skip`` or ``cancel`` (a pending task only) the task."""
    if action not in ("complete", "skip", "cancel"):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no action '{action}' on a task")
    task = await _task(session, agent, task_id)
    try:
        await finish_task(session, task, action, state.clock(), ns=state.bus.ns)
    except TaskConflict as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc
    await session.flush()  # the response shows the ids and defaults
    return TaskPublic.model_validate(task)
