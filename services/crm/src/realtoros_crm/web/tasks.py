"""Tasks: list (combined filters) and calendar views, one task, reschedule, complete, skip,
and bulk actions — the same actions and rules as the API's."""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import date, datetime, time, timedelta
from typing import Annotated

from fastapi import APIRouter, Form, Request, Response
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from realtoros_crm.api.deps import SessionDep, StateDep
from realtoros_crm.clients.service import (
    client_choices,
    client_name,
    client_names,
    client_zones,
)
from realtoros_crm.db import discard
from realtoros_crm.email_templates.service import list_templates
from realtoros_crm.plans.window import zone_or_utc
from realtoros_crm.tasks.actions import TaskConflict, finish_task, reschedule_task
from realtoros_crm.tasks.models import TASK_STATUSES, Task
from realtoros_crm.tasks.schemas import TaskUpdate
from realtoros_crm.tasks.service import TaskFilter, get_task, list_tasks
from realtoros_crm.web import PageNotFound, found
from realtoros_crm.web.render import page, plural, redirect
from realtoros_crm.web.session import WebAgent

router = APIRouter(prefix="/app/tasks")
TYPES = ("email", "call", "meeting", "custom")
ACTIONS = ("complete", "skip", "cancel")


def parse_local(value: str, zone_name: str) -> datetime:
    """A ``datetime-local`` value, read in the agent's time zone."""
    return datetime.fromisoformat(value).replace(tzinfo=zone_or_utc(zone_name))


def _filters(request: Request) -> TaskFilter:
    params = request.query_params
    client = params.get("client_id")
    return TaskFilter(
        statuses=[s for s in params.getlist("status") if s in TASK_STATUSES],
        task_types=[t for t in params.getlist("type") if t in TYPES],
        overdue=params.get("overdue") == "on",
        due_today=params.get("due_today") == "on",
        client_id=uuid.UUID(client) if client and len(client) == 36 else None,
    )


@router.get("")
async def task_list(
    request: Request, agent: WebAgent, session: SessionDep, state: StateDep
) -> Response:
    filters = _filters(request)
    if not filters.statuses and "status" not in request.query_params:
        filters.statuses = ["pending", "awaiting_approval", "failed", "unknown"]
    tasks = await list_tasks(
        session, agent.id, filters, now=state.clock(), zone=agent.timezone, limit=200, offset=0
    )
    names = await client_names(session, agent.id, [t.client_id for t in tasks])
    return page(
        request,
        "tasks.html",
        clients=await client_choices(session, agent.id),
        templates=await list_templates(session, agent.id),
        tasks=tasks,
        names=names,
        zones=await client_zones(session, agent.id, [t.client_id for t in tasks]),
        filters=filters,
        statuses=TASK_STATUSES,
        types=TYPES,
    )


@router.get("/calendar")
async def calendar(
    request: Request, agent: WebAgent, session: SessionDep, state: StateDep, start: str = ""
) -> Response:
    zone = zone_or_utc(agent.timezone)
    today = state.clock().astimezone(zone).date()
    try:
        first = date.fromisoformat(start) if start else today
    except ValueError:
        first = today
    first -= timedelta(days=first.isoweekday() - 1)  # a Monday
    days = [first + timedelta(days=n) for n in range(14)]
    window = TaskFilter(
        due_from=datetime.combine(days[0], time(0), tzinfo=zone),
        due_to=datetime.combine(days[-1] + timedelta(days=1), time(0), tzinfo=zone),
    )
    tasks = await list_tasks(
        session, agent.id, window, now=state.clock(), zone=agent.timezone, limit=2000, offset=0
    )
    by_day: dict[date, list[Task]] = defaultdict(list)
    for task in tasks:
        by_day[task.due_at.astimezone(zone).date()].append(task)
    names = await client_names(session, agent.id, [t.client_id for t in tasks])
    return page(
        request,
        "calendar.html",
        days=days,
        by_day=by_day,
        names=names,
        today=today,
        previous=(first - timedelta(days=14)).isoformat(),
        following=(first + timedelta(days=14)).isoformat(),
    )


@router.post("/bulk")
async def bulk(
    request: Request,
    agent: WebAgent,
    session: SessionDep,
    state: StateDep,
    ids: Annotated[list[str], Form()] = [],  # noqa: B006 - FastAPI copies defaults
    action: Annotated[str, Form()] = "",
    due_at: Annotated[str, Form()] = "",
) -> Response:
    now, done, problems = state.clock(), 0, []
    try:
        task_ids = [uuid.UUID(i) for i in ids]
        due = parse_local(due_at, agent.timezone) if action == "reschedule" else None
    except ValueError:
        return redirect("/app/tasks", "Nothing changed: give a valid date and time.", error=True)
    if not task_ids or action not in (*ACTIONS, "reschedule"):
        return redirect("/app/tasks", "Nothing changed: select tasks and an action.", error=True)
    for task_id in task_ids:
        task = await get_task(session, agent.id, task_id, lock=True)
        if task is None:
            continue
        try:
            if due is not None:
                await reschedule_task(session, task, TaskUpdate(due_at=due), now)
            else:
                await finish_task(session, task, action, now, ns=state.bus.ns)
            done += 1
        except TaskConflict as exc:
            problems.append(f"{task.purpose}: {exc}")
    message = f"{plural(done, 'task')} updated." + (
        f" Not done: {'; '.join(problems)}" if problems else ""
    )
    return redirect("/app/tasks", message, error=bool(problems))


@router.get("/{task_id}")
async def task_page(
    task_id: uuid.UUID, request: Request, agent: WebAgent, session: SessionDep
) -> Response:
    task = found(await get_task(session, agent.id, task_id), "task")
    return await _task_page(request, session, task, {})


async def _task_page(
    request: Request, session: AsyncSession, task: Task, errors: dict[str, str]
) -> Response:
    """The task page; with errors, again after a form that was wrong (422)."""
    return page(
        request,
        "task.html",
        status_code=422 if errors else 200,
        task=task,
        client_name=await client_name(session, task.agent_id, task.client_id),
        zones=await client_zones(session, task.agent_id, [task.client_id]),
        errors=errors,
    )


@router.post("/{task_id}/reschedule")
async def reschedule(
    task_id: uuid.UUID,
    request: Request,
    agent: WebAgent,
    session: SessionDep,
    state: StateDep,
    due_at: Annotated[str, Form()] = "",
) -> Response:
    task = found(await get_task(session, agent.id, task_id, lock=True), "task")
    try:
        await reschedule_task(
            session, task, TaskUpdate(due_at=parse_local(due_at, agent.timezone)), state.clock()
        )
    except (ValueError, ValidationError):
        discard(session)
        errors = {"due_at": "Give a date and a time, e.g. 2026-05-04 09:30."}
        return await _task_page(request, session, task, errors)
    except TaskConflict as exc:
        discard(session)
        return redirect(f"/app/tasks/{task.id}", str(exc), error=True)
    return redirect(f"/app/tasks/{task.id}", "Rescheduled.")


@router.post("/{task_id}/{action}")
async def act(
    task_id: uuid.UUID, action: str, agent: WebAgent, session: SessionDep, state: StateDep
) -> Response:
    if (
        action not in ACTIONS
        or (task := await get_task(session, agent.id, task_id, lock=True)) is None
    ):
        raise PageNotFound("task")
    try:
        await finish_task(session, task, action, state.clock(), ns=state.bus.ns)
    except TaskConflict as exc:
        discard(session)
        return redirect(f"/app/tasks/{task.id}", str(exc), error=True)
    return redirect(f"/app/tasks/{task.id}", f"Task {task.status}.")
