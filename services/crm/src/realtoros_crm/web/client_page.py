"""One client: details, timeline, tasks, emails and plans (apply, pause, resume, cancel)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Form, Request, Response
from sqlalchemy import select

from realtoros_crm.activities.service import client_timeline
from realtoros_crm.api.deps import SessionDep, StateDep
from realtoros_crm.clients.service import find_duplicates, get_client
from realtoros_crm.customfields.service import list_fields
from realtoros_crm.db import discard
from realtoros_crm.email_templates.service import list_templates
from realtoros_crm.emails.drafts import draft_on_demand, llm_use, llm_warning
from realtoros_crm.emails.listing import EmailFilter, list_emails
from realtoros_crm.plans.lifecycle import RUN_ACTIONS, act_on_run, pending_tasks
from realtoros_crm.plans.models import PlanRun
from realtoros_crm.plans.runs import PlanConflict, apply_plan
from realtoros_crm.plans.service import ensure_default_plan, get_plan, list_plans
from realtoros_crm.tasks.service import TaskFilter, list_tasks
from realtoros_crm.web import PageNotFound, found
from realtoros_crm.web.render import local, page, redirect
from realtoros_crm.web.session import WebAgent

router = APIRouter(prefix="/app/clients")


@router.get("/{client_id}")
async def client_detail(
    client_id: uuid.UUID, request: Request, agent: WebAgent, session: SessionDep, state: StateDep
) -> Response:
    client = found(await get_client(session, agent.id, client_id), "client")
    await ensure_default_plan(session, agent.id, state.clock())
    runs = (
        await session.scalars(
            select(PlanRun)
            .where(PlanRun.agent_id == agent.id, PlanRun.client_id == client.id)
            .order_by(PlanRun.created_at.desc())
        )
    ).all()
    tasks = await list_tasks(
        session,
        agent.id,
        TaskFilter(client_id=client.id),
        now=state.clock(),
        zone=agent.timezone,
        limit=100,
        offset=0,
    )
    return page(
        request,
        "client.html",
        client=client,
        duplicates=await find_duplicates(session, client),
        timeline=await client_timeline(session, agent.id, client.id, limit=100),
        tasks=tasks,
        zones={client.id: client.timezone},
        llm_warning=llm_warning(await llm_use(session, agent.id), instructions=True),
        emails=await list_emails(session, agent.id, EmailFilter(client_id=client.id), limit=50),
        runs=runs,
        plans=await list_plans(session, agent.id),
        templates=await list_templates(session, agent.id),
        field_labels={f.key: f.label for f in await list_fields(session, agent.id)},
    )


@router.post("/{client_id}/plans")
async def apply(
    client_id: uuid.UUID,
    request: Request,
    agent: WebAgent,
    session: SessionDep,
    state: StateDep,
    plan_id: Annotated[str, Form()] = "",
) -> Response:
    client = found(await get_client(session, agent.id, client_id), "client")
    back = f"/app/clients/{client.id}"
    try:
        plan = await get_plan(session, agent.id, uuid.UUID(plan_id))
    except ValueError:
        plan = None
    if plan is None:
        return redirect(back, "Choose a plan to apply.", error=True)
    now = state.clock()
    try:
        run = await apply_plan(session, client, plan, start=now, now=now)
    except PlanConflict as exc:
        discard(session)
        return redirect(back, f"The plan was not applied: {exc}", error=True)
    first = next(iter(await pending_tasks(session, run)), None)
    message = f"Plan “{plan.name}” applied."
    if first is not None:  # its time already moved into the sending window, if need be
        message += f" First step: {first.purpose}, {local(first.due_at, request)}."
    return redirect(back, message)


@router.post("/{client_id}/runs/{run_id}/{action}")
async def change_run(
    client_id: uuid.UUID,
    run_id: uuid.UUID,
    action: str,
    agent: WebAgent,
    session: SessionDep,
    state: StateDep,
) -> Response:
    statement = (
        select(PlanRun)
        .where(PlanRun.id == run_id, PlanRun.agent_id == agent.id, PlanRun.client_id == client_id)
        .with_for_update()
    )
    run = (await session.scalars(statement)).one_or_none()
    if run is None or action not in RUN_ACTIONS:
        raise PageNotFound("plan")
    back = f"/app/clients/{client_id}"
    try:
        await act_on_run(session, run, action, state.clock())
    except PlanConflict as exc:
        discard(session)
        return redirect(back, f"Not done: {exc}", error=True)
    return redirect(
        back,
        f"Plan “{run.plan_name}”: {action}d."
        if action != "pause"
        else f"Plan “{run.plan_name}” paused.",
    )


@router.post("/{client_id}/draft")
async def draft_now(
    client_id: uuid.UUID,
    agent: WebAgent,
    session: SessionDep,
    state: StateDep,
    instructions: Annotated[str, Form(max_length=5000)] = "",
) -> Response:
    client = found(await get_client(session, agent.id, client_id), "client")
    if (reason := client.no_email_reason()) is not None:
        return redirect(
            f"/app/clients/{client.id}", f"No email can be drafted: {reason}", error=True
        )
    use = await llm_use(session, agent.id)  # before this draft, which has no composer yet
    email = await draft_on_demand(
        session, state.claim_context, client, instructions.replace("\x00", ""), state.clock()
    )
    warning = llm_warning(use, bool(instructions.strip()))
    message = "The composer is writing the draft." + (f" {warning}" if warning else "")
    return redirect(f"/app/drafts/{email.task_id}", message)
