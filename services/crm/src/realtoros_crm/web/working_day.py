"""The agent's working day in the web app: log a call, a meeting or a note (from the
client's page or from a task), and add a one-off task (from the client's page or the task
list) — through the same service functions as the API."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request, Response
from pydantic import ValidationError

from realtoros_crm.activities.schemas import ActivityCreate
from realtoros_crm.api.deps import SessionDep, StateDep
from realtoros_crm.clients.service import get_client
from realtoros_crm.contacts.service import TaskConflict, TaskNotFound, log_activity
from realtoros_crm.db import discard
from realtoros_crm.email_templates.service import TemplateNotFound
from realtoros_crm.tasks.schemas import TaskCreate
from realtoros_crm.tasks.service import create_task
from realtoros_crm.web import PageNotFound, found
from realtoros_crm.web.render import posted_form, problem_text, redirect
from realtoros_crm.web.session import WebAgent
from realtoros_crm.web.tasks import parse_local

router = APIRouter(prefix="/app")


def _back(form: dict[str, str], default: str) -> str:
    back = form.get("back", "")
    return back if back.startswith("/app/") and "//" not in back else default


def _when(value: str, zone: str) -> Any:
    try:
        return parse_local(value, zone) if value else None
    except ValueError:
        return value  # the model says what is wrong with it


@router.post("/clients/{client_id}/activities")
async def log_from_page(
    client_id: uuid.UUID, request: Request, agent: WebAgent, session: SessionDep, state: StateDep
) -> Response:
    client = found(await get_client(session, agent.id, client_id, lock=True), "client")
    form = await posted_form(request)
    back = _back(form, f"/app/clients/{client.id}")
    raw: dict[str, Any] = {
        "kind": form.get("kind"),
        "notes": form.get("notes", ""),
        "outcome": form.get("outcome") or None if form.get("kind") == "call" else None,
        "duration_minutes": form.get("duration_minutes") or None,
        "occurred_at": _when(form.get("occurred_at", ""), agent.timezone),
        "task_id": form.get("task_id") or None,
        "complete_task": form.get("complete_task") == "on",
    }
    try:
        logged = await log_activity(
            session, client, ActivityCreate.model_validate(raw), state.clock(), ns=state.bus.ns
        )
    except (ValidationError, TaskNotFound, TaskConflict) as exc:
        discard(session)
        return redirect(back, f"Not logged: {problem_text(exc)}")
    message = f"{raw['kind'].capitalize()} logged."
    if logged.paused_plans:
        message += " Paused: " + ", ".join(f"“{name}”" for name in logged.paused_plans) + "."
    if logged.task_completed:
        message += " Task completed."
    return redirect(back, message)


@router.post("/tasks/new")
async def new_task(
    request: Request, agent: WebAgent, session: SessionDep, state: StateDep
) -> Response:
    form = await posted_form(request)
    back = _back(form, "/app/tasks")
    raw: dict[str, Any] = {
        "client_id": form.get("client_id") or None,
        "task_type": form.get("task_type") or "call",
        "purpose": form.get("purpose", "").strip() or None,
        "due_at": _when(form.get("due_at", ""), agent.timezone),
        "priority": form.get("priority") or "medium",
        "template_id": form.get("template_id") or None,
        "instructions": form.get("instructions") or None,
    }
    try:
        data = TaskCreate.model_validate(raw)
        if await get_client(session, agent.id, data.client_id) is None:
            raise PageNotFound("client")
        task = await create_task(session, agent.id, data, now=state.clock())
    except (ValidationError, TemplateNotFound) as exc:
        discard(session)
        return redirect(back, f"No task added: {problem_text(exc)}")
    return redirect(back, f"Task “{task.purpose}” added.")
