"""Follow-up plans: CRUD of plans and steps, applying one to a client, pause/resume/cancel."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from fastapi import APIRouter, HTTPException, Response, status
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from realtoros_crm.api.deps import CurrentAgent, SessionDep, StateDep
from realtoros_crm.api.problems import found
from realtoros_crm.clients.service import get_client
from realtoros_crm.plans.lifecycle import RUN_ACTIONS, act_on_run
from realtoros_crm.plans.models import Plan, PlanRun, PlanStep
from realtoros_crm.plans.runs import PlanConflict, apply_plan
from realtoros_crm.plans.schemas import (
    ApplyPlan,
    PlanCreate,
    PlanPublic,
    PlanUpdate,
    RunPublic,
    StepIn,
    StepPublic,
    StepUpdate,
)
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

router = APIRouter(tags=["plans"])


async def _plan(session: AsyncSession, agent_id: uuid.UUID, plan_id: uuid.UUID) -> Plan:
    return found(await get_plan(session, agent_id, plan_id), "plan", plan_id)


async def _step(
    session: AsyncSession, agent_id: uuid.UUID, plan_id: uuid.UUID, step_id: uuid.UUID
) -> tuple[Plan, PlanStep]:
    plan = await _plan(session, agent_id, plan_id)
    step = found(await get_step(session, plan, step_id), "step", step_id)
    return plan, step


@router.get("/plans")
async def read_plans(agent: CurrentAgent, session: SessionDep, state: StateDep) -> list[PlanPublic]:
    """The agent's plans (the standard Day 1 … Month 1 plan is there from the start)."""
    await ensure_default_plan(session, agent.id, state.clock())
    return [await plan_public(session, plan) for plan in await list_plans(session, agent.id)]


@router.post("/plans", status_code=status.HTTP_201_CREATED)
async def add_plan(
    data: PlanCreate, agent: CurrentAgent, session: SessionDep, state: StateDep
) -> PlanPublic:
    plan = await create_plan(session, agent.id, data, now=state.clock())
    await session.flush()  # the response shows the ids and defaults
    return await plan_public(session, plan)


@router.get("/plans/{plan_id}")
async def read_plan(plan_id: uuid.UUID, agent: CurrentAgent, session: SessionDep) -> PlanPublic:
    return await plan_public(session, await _plan(session, agent.id, plan_id))


@router.patch("/plans/{plan_id}")
async def change_plan(
    plan_id: uuid.UUID, data: PlanUpdate, agent: CurrentAgent, session: SessionDep, state: StateDep
) -> PlanPublic:
    plan = await _plan(session, agent.id, plan_id)
    await update_plan(session, plan, data, state.clock())
    await session.flush()  # the response shows the ids and defaults
    return await plan_public(session, plan)


@router.delete("/plans/{plan_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_plan(
    plan_id: uuid.UUID, agent: CurrentAgent, session: SessionDep, state: StateDep
) -> Response:
    """Delete a plan; clients already on it keep their scheduled steps."""
    plan = await _plan(session, agent.id, plan_id)
    await soft_delete_plan(session, plan, state.clock())
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/plans/{plan_id}/steps", status_code=status.HTTP_201_CREATED)
async def add_plan_step(
    plan_id: uuid.UUID, data: StepIn, agent: CurrentAgent, session: SessionDep, state: StateDep
) -> StepPublic:
    step = await add_step(session, await _plan(session, agent.id, plan_id), data, state.clock())
    await session.flush()  # the response shows the ids and defaults
    return StepPublic.model_validate(step)


@router.patch("/plans/{plan_id}/steps/{step_id}")
async def change_plan_step(
    plan_id: uuid.UUID,
    step_id: uuid.UUID,
    data: StepUpdate,
    agent: CurrentAgent,
    session: SessionDep,
    state: StateDep,
) -> StepPublic:
    plan, step = await _step(session, agent.id, plan_id, step_id)
    await update_step(session, plan, step, data, state.clock())
    await session.flush()  # the response shows the ids and defaults
    return StepPublic.model_validate(step)


@router.delete("/plans/{plan_id}/steps/{step_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_plan_step(
    plan_id: uuid.UUID, step_id: uuid.UUID, agent: CurrentAgent, session: SessionDep
) -> Response:
    plan, step = await _step(session, agent.id, plan_id, step_id)
    await remove_step(session, plan, step)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/clients/{client_id}/plans", status_code=status.HTTP_201_CREATED)
async def start_plan(
    client_id: uuid.UUID, data: ApplyPlan, agent: CurrentAgent, session: SessionDep, state: StateDep
) -> RunPublic:
    """Apply a plan to a client: each step becomes a task, delays counted from ``start_at``."""
    client = found(await get_client(session, agent.id, client_id), "client", client_id)
    plan = await _plan(session, agent.id, data.plan_id)
    now = state.clock()
    try:
        run = await apply_plan(session, client, plan, start=data.start_at or now, now=now)
    except PlanConflict as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc
    await session.flush()  # the response shows the ids and defaults
    return RunPublic.model_validate(run)


@router.get("/clients/{client_id}/plans")
async def read_client_plans(
    client_id: uuid.UUID, agent: CurrentAgent, session: SessionDep
) -> list[RunPublic]:
    found(await get_client(session, agent.id, client_id), "client", client_id)
    runs = await _runs(session, agent.id, client_id)
    return [RunPublic.model_validate(run) for run in runs]


async def _runs(
    session: AsyncSession, agent_id: uuid.UUID, client_id: uuid.UUID
) -> Sequence[PlanRun]:
    statement = (
        select(PlanRun)
        .where(PlanRun.agent_id == agent_id, PlanRun.client_id == client_id)
        .order_by(PlanRun.created_at, PlanRun.id)
    )
    return (await session.scalars(statement)).all()


async def _run(session: AsyncSession, agent_id: uuid.UUID, run_id: uuid.UUID) -> PlanRun:
    statement = (
        select(PlanRun).where(PlanRun.id == run_id, PlanRun.agent_id == agent_id).with_for_update()
    )
    return found((await session.scalars(statement)).one_or_none(), "plan run", run_id)


@router.get("/plan-runs/{run_id}")
async def read_run(run_id: uuid.UUID, agent: CurrentAgent, session: SessionDep) -> RunPublic:
    return RunPublic.model_validate(await _run(session, agent.id, run_id))


@router.post("/plan-runs/{run_id}/{action}")
async def change_run(
    run_id: uuid.UUID, action: str, agent: CurrentAgent, session: SessionDep, state: StateDep
) -> RunPublic:
    """``pause``, ``resume`` (the remaining steps shift by the paused time) or ``cancel``."""
    if action not in RUN_ACTIONS:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no action '{action}' on a plan run")
    run = await _run(session, agent.id, run_id)
    try:
        await act_on_run(session, run, action, state.clock())
    except PlanConflict as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc
    await session.flush()  # the response shows the ids and defaults
    return RunPublic.model_validate(run)
