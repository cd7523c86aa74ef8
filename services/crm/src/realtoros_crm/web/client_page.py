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
from realtoros_crm.email_templates.service import list_templates
from realtoros_crm.emails.drafts import draft_on_demand
from realtoros_crm.emails.listing import EmailFilter, list_emails
from realtoros_crm.plans.models import PlanRun
from realtoros_crm.plans.runs import (
    RUN_ACTIONS,
    PlanConflict,
    act_on_run,
    apply_plan,
    pending_tasks,
)
from realtoros_crm.plans.service import ensure_default_plan, get_plan, list_plans
from realtoros_crm.tasks.service import TaskFilter, list_tasks
from realtoros_crm.web import PageNotFound
from realtoros_crm.web.render import local, page, redirect
from realtoros_crm.web.session import WebAgent

router = APIRouter(prefix="/app/clients")


@router.get("/{client_id}")
async def client_detail(
    client_id: uuid.UUID, request: Request, agent: WebAgent, session: SessionDep, state: StateDep
) -> Response:
    if (client := await get_client(session, agent.id, client_id)) is None:
        raise PageNotFound("client")
    await ensure_default_plan(session, agent.id, state.clock())
    await session.commit()
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
    if (client := await get_client(session, agent.id, client_id)) is None:
        raise PageNotFound("client")
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
        return redirect(back, f"The plan was not applied: {exc}", error=True)
    first = next(iter(await pending_tasks(session, run)), None)
    await session.commit()
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
        return redirect(back, f"Not done: {exc}", error=True)
    await session.commit()
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
    if (client := await get_client(session, agent.id, client_id)) is None:
        raise PageNotFound("client")
    if (reason := client.no_email_reason()) is not None:
        return redirect(
            f"/app/clients/{client.id}", f"No email can be drafted: {reason}", error=True
        )
    email = await draft_on_demand(
        session, state.claims, client, instructions.replace("\x00", ""), state.clock()
    )
    await session.commit()
    state.relay.wake()
    return redirect(f"/app/drafts/{email.task_id}", "The composer is writing the draft.")
