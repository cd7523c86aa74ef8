"""Plans: the list, a new plan, one plan with its steps (add, edit, remove)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter, Request, Response
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from realtoros_crm.api.deps import SessionDep, StateDep
from realtoros_crm.clients.models import STAGES
from realtoros_crm.db import discard
from realtoros_crm.email_templates.merge import TemplateInvalid
from realtoros_crm.email_templates.service import TemplateNotFound, list_templates
from realtoros_crm.plans.models import Plan
from realtoros_crm.plans.schemas import PlanCreate, PlanUpdate, StepIn, StepUpdate
from realtoros_crm.plans.service import (
    add_step,
    create_plan,
    ensure_default_plan,
    get_plan,
    get_step,
    list_plans,
    plan_public,
    remove_step,
    soft_delete_plan,
    update_plan,
    update_step,
)
from realtoros_crm.web import found
from realtoros_crm.web.render import field_errors, page, redirect
from realtoros_crm.web.session import WebAgent

router = APIRouter(prefix="/app/plans")
STEP_FIELDS = ("delay_days", "time_of_day", "action", "purpose", "instructions", "priority")


async def _form(request: Request) -> dict[str, str]:
    return {k: str(v) for k, v in (await request.form()).items() if k != "csrf"}


def _plan_fields(form: dict[str, str]) -> dict[str, Any]:
    return {
        "name": form.get("name", "").strip(),
        "description": form.get("description", "").strip() or None,
        "start_on_stage": form.get("start_on_stage") or None,
        "is_default": form.get("is_default") == "on",
        "on_reply": form.get("on_reply") or "pause",
        "pause_on_conversation_minutes": form.get("pause_on_conversation_minutes") or None,
    }


def _step_fields(form: dict[str, str]) -> dict[str, Any]:
    fields: dict[str, Any] = {k: form.get(k, "").strip() for k in STEP_FIELDS}
    fields["instructions"] = fields["instructions"] or None
    # Left empty: the default (a new step) or unchanged (an edit); the purpose is required.
    fields = {k: v for k, v in fields.items() if v != "" or k == "purpose"}
    if "template_id" in form:  # empty: an AI-written draft
        fields["template_id"] = form["template_id"] or None
    return fields


async def _plan(session: SessionDep, agent_id: uuid.UUID, plan_id: uuid.UUID) -> Plan:
    return found(await get_plan(session, agent_id, plan_id), "plan")


@router.get("")
async def plans(
    request: Request, agent: WebAgent, session: SessionDep, state: StateDep
) -> Response:
    await ensure_default_plan(session, agent.id, state.clock())
    found = [await plan_public(session, plan) for plan in await list_plans(session, agent.id)]
    return page(request, "plans.html", plans=found, stages=STAGES, values={}, errors={})


@router.post("")
async def new_plan(
    request: Request, agent: WebAgent, session: SessionDep, state: StateDep
) -> Response:
    form = await _form(request)
    try:
        data = PlanCreate.model_validate(_plan_fields(form))
    except ValidationError as exc:
        found = [await plan_public(session, plan) for plan in await list_plans(session, agent.id)]
        return page(
            request,
            "plans.html",
            status_code=422,
            plans=found,
            stages=STAGES,
            values=form,
            errors=field_errors(exc),
        )
    plan = await create_plan(session, agent.id, data, now=state.clock())
    await session.flush()  # the plan's id
    return redirect(f"/app/plans/{plan.id}", "Plan created: now add its steps.")


@router.get("/{plan_id}")
async def plan_page(
    plan_id: uuid.UUID, request: Request, agent: WebAgent, session: SessionDep
) -> Response:
    plan = await plan_public(session, await _plan(session, agent.id, plan_id))
    templates = await list_templates(session, agent.id)
    return page(
        request, "plan.html", plan=plan, stages=STAGES, errors={}, step_values={},
        templates=templates,
    )  # fmt: skip


@router.post("/{plan_id}")
async def save_plan(
    plan_id: uuid.UUID, request: Request, agent: WebAgent, session: SessionDep, state: StateDep
) -> Response:
    plan = await _plan(session, agent.id, plan_id)
    form = await _form(request)
    if form.get("action") == "delete":
        await soft_delete_plan(session, plan, state.clock())
        return redirect(
            "/app/plans", f"Plan “{plan.name}” deleted; clients on it keep their steps."
        )
    try:
        data = PlanUpdate.model_validate(_plan_fields(form))
    except ValidationError as exc:
        return await _plan_with_errors(request, session, plan, exc, {})
    await update_plan(session, plan, data, state.clock())
    return redirect(f"/app/plans/{plan.id}", "Plan saved.")


async def _plan_with_errors(
    request: Request,
    session: AsyncSession,
    plan: Plan,
    exc: ValidationError,
    step_values: Mapping[str, str],
) -> Response:
    """The plan page again, with what was wrong with the form (422)."""
    return page(
        request,
        "plan.html",
        status_code=422,
        plan=await plan_public(session, plan),
        stages=STAGES,
        errors=field_errors(exc),
        step_values=step_values,
        templates=await list_templates(session, plan.agent_id),
    )


@router.post("/{plan_id}/steps")
async def new_step(
    plan_id: uuid.UUID, request: Request, agent: WebAgent, session: SessionDep, state: StateDep
) -> Response:
    plan = await _plan(session, agent.id, plan_id)
    form = await _form(request)
    try:
        data = StepIn.model_validate(_step_fields(form))
    except ValidationError as exc:
        return await _plan_with_errors(request, session, plan, exc, form)
    try:
        await add_step(session, plan, data, state.clock())
    except (TemplateNotFound, TemplateInvalid) as exc:
        discard(session)
        return redirect(f"/app/plans/{plan.id}", f"Step not added: {exc}")
    return redirect(f"/app/plans/{plan.id}", "Step added.")


@router.post("/{plan_id}/steps/{step_id}")
async def change_step(
    plan_id: uuid.UUID,
    step_id: uuid.UUID,
    request: Request,
    agent: WebAgent,
    session: SessionDep,
    state: StateDep,
) -> Response:
    plan = await _plan(session, agent.id, plan_id)
    step = found(await get_step(session, plan, step_id), "step")
    form, back = await _form(request), f"/app/plans/{plan.id}"
    if form.get("action") == "delete":
        await remove_step(session, plan, step)
        return redirect(back, "Step removed.")
    # "move" (the up/down buttons) changes only the position.
    fields = {} if form.get("action") == "move" else _step_fields(form)
    if form.get("position", "").strip().isdigit():  # shown from 1, stored from 0
        fields["position"] = max(int(form["position"]) - 1, 0)
    try:
        data = StepUpdate.model_validate(fields)
    except ValidationError as exc:
        return redirect(
            back,
            "Step not saved: " + "; ".join(f"{k}: {v}" for k, v in field_errors(exc).items()),
            error=True,
        )
    try:
        await update_step(session, plan, step, data, state.clock())
    except (TemplateNotFound, TemplateInvalid) as exc:
        discard(session)
        return redirect(back, f"Step not saved: {exc}")
    return redirect(back, "Step saved.")
