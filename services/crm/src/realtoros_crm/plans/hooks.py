"""What the clients package calls when a client is created or changes stage, so plans
start and stop by themselves. Flushes only: the caller commits (in the same transaction
as the client change)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from realtoros_crm.clients.models import INACTIVE_STAGES, Client
from realtoros_crm.clients.stages import StageChange
from realtoros_crm.plans.models import Plan, PlanRun
from realtoros_crm.plans.runs import apply_plan, live_run, stop_client_plans
from realtoros_crm.plans.service import get_plan


async def _automatic_plans(
    session: AsyncSession, agent_id: uuid.UUID, stage: str, *, with_default: bool
) -> Sequence[Plan]:
    condition = Plan.start_on_stage == stage
    if with_default:
        condition = or_(condition, Plan.is_default.is_(True))
    statement = (
        select(Plan)
        .where(Plan.agent_id == agent_id, Plan.deleted_at.is_(None), condition)
        .order_by(Plan.created_at, Plan.id)
    )
    return (await session.scalars(statement)).all()


async def _start_all(
    session: AsyncSession, client: Client, plans: Sequence[Plan], now: datetime
) -> list[PlanRun]:
    runs = []
    for plan in plans:
        if not await live_run(session, client.id, plan.id):
            runs.append(await apply_plan(session, client, plan, start=now, now=now))
    return runs


async def on_client_created(
    session: AsyncSession, client: Client, now: datetime, plan_id: uuid.UUID | None = None
) -> list[PlanRun]:
    """Start the plan asked for at creation, else the agent's default plan, and the plans
    that start on the client's stage. ``LookupError`` when ``plan_id`` is not the agent's."""
    if client.no_follow_up_reason() is not None:
        return []
    plans: list[Plan] = []
    if plan_id is not None:
        plan = await get_plan(session, client.agent_id, plan_id)
        if plan is None:
            raise LookupError(f"plan {plan_id} not found")
        plans.append(plan)
    automatic = await _automatic_plans(
        session, client.agent_id, client.stage, with_default=plan_id is None
    )
    plans.extend(plan for plan in automatic if plan not in plans)
    return await _start_all(session, client, plans, now)


async def on_client_stage_changed(
    session: AsyncSession, client: Client, old_stage: str, now: datetime
) -> list[PlanRun]:
    """Closed or lost: every plan of the client stops. Another stage: the plans that start
    on it start (once: a plan already running is left alone)."""
    if client.stage == old_stage:
        return []
    if client.stage in INACTIVE_STAGES:
        await stop_client_plans(session, client.id, f"client {client.stage}", now)
        return []
    if client.no_follow_up_reason() is not None:
        return []
    plans = await _automatic_plans(session, client.agent_id, client.stage, with_default=False)
    return await _start_all(session, client, plans, now)


async def on_stage_changes_run_plans(session: AsyncSession, changes: Sequence[StageChange]) -> None:
    """The clients package's stage hook (``app.state.stage_hooks``): a new client gets the
    agent's default plan and the plans of its stage; a stage change starts or stops plans."""
    for change in changes:
        client = await session.get(Client, change.client_id)
        if client is None:
            continue
        if change.old is None:
            await on_client_created(session, client, change.at)
        else:
            await on_client_stage_changed(session, client, change.old, change.at)
