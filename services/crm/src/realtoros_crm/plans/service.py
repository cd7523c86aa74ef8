"""Plans and their steps, always scoped to their agent. Flushes only: the caller commits."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, time

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from realtoros_crm.email_templates.merge import TemplateInvalid
from realtoros_crm.email_templates.service import check_owned
from realtoros_crm.plans.models import Plan, PlanStep
from realtoros_crm.plans.schemas import (
    PlanCreate,
    PlanPublic,
    PlanUpdate,
    StepIn,
    StepPublic,
    StepUpdate,
)

DEFAULT_PLAN_NAME = "Standard follow-up"
DEFAULT_STEPS = (
    StepIn(delay_days=1, purpose="Day 1", priority="high", time_of_day=time(10)),
    StepIn(delay_days=3, purpose="Day 3", priority="medium", time_of_day=time(10)),
    StepIn(delay_days=7, purpose="Week 1", priority="medium", time_of_day=time(10)),
    StepIn(delay_days=14, purpose="Week 2", priority="low", time_of_day=time(10)),
    StepIn(delay_days=30, purpose="Month 1", priority="low", time_of_day=time(10)),
)
"""What agents use: 1, 3, 7, 14 and 30 days after the client is added, at 10:00 local."""


async def ensure_default_plan(session: AsyncSession, agent_id: uuid.UUID, now: datetime) -> None:
    """Give the agent the standard plan once (deleting it later does not bring it back)."""
    exists = await session.scalar(
        select(Plan.id).where(Plan.agent_id == agent_id, Plan.builtin.is_(True)).limit(1)
    )
    if exists is not None:
        return
    data = PlanCreate(name=DEFAULT_PLAN_NAME, steps=list(DEFAULT_STEPS))
    data.description = "Day 1, Day 3, Week 1, Week 2 and Month 1 after the client is added."
    try:
        async with session.begin_nested():
            await create_plan(session, agent_id, data, now=now, builtin=True)
    except IntegrityError:
        pass  # a concurrent first request created it


async def create_plan(
    session: AsyncSession,
    agent_id: uuid.UUID,
    data: PlanCreate,
    *,
    now: datetime,
    builtin: bool = False,
) -> Plan:
    await check_owned(session, agent_id, (step.template_id for step in data.steps))
    if data.is_default:
        await _clear_default(session, agent_id)
    fields = data.model_dump(exclude={"steps"})
    plan = Plan(agent_id=agent_id, builtin=builtin, created_at=now, updated_at=now, **fields)
    session.add(plan)
    await session.flush()
    for position, step in enumerate(data.steps):
        session.add(PlanStep(plan_id=plan.id, position=position, **step.model_dump()))
    await session.flush()
    return plan


async def _clear_default(session: AsyncSession, agent_id: uuid.UUID) -> None:
    await session.execute(
        update(Plan).where(Plan.agent_id == agent_id, Plan.is_default).values(is_default=False)
    )


async def get_plan(session: AsyncSession, agent_id: uuid.UUID, plan_id: uuid.UUID) -> Plan | None:
    statement = select(Plan).where(
        Plan.id == plan_id, Plan.agent_id == agent_id, Plan.deleted_at.is_(None)
    )
    return (await session.scalars(statement)).one_or_none()


async def list_plans(session: AsyncSession, agent_id: uuid.UUID) -> Sequence[Plan]:
    statement = (
        select(Plan)
        .where(Plan.agent_id == agent_id, Plan.deleted_at.is_(None))
        .order_by(Plan.created_at, Plan.id)
    )
    return (await session.scalars(statement)).all()


async def plan_steps(session: AsyncSession, plan_id: uuid.UUID) -> Sequence[PlanStep]:
    statement = (
        select(PlanStep)
        .where(PlanStep.plan_id == plan_id)
        .order_by(PlanStep.position, PlanStep.delay_days, PlanStep.id)
    )
    return (await session.scalars(statement)).all()


async def plan_public(session: AsyncSession, plan: Plan) -> PlanPublic:
    steps = [StepPublic.model_validate(step) for step in await plan_steps(session, plan.id)]
    return PlanPublic(
        id=plan.id,
        name=plan.name,
        description=plan.description,
        start_on_stage=plan.start_on_stage,  # type: ignore[arg-type]
        is_default=plan.is_default,
        builtin=plan.builtin,
        pause_on_conversation_minutes=plan.pause_on_conversation_minutes,
        steps=steps,
        created_at=plan.created_at,
        updated_at=plan.updated_at,
    )


async def update_plan(session: AsyncSession, plan: Plan, data: PlanUpdate, now: datetime) -> None:
    changes = data.model_dump(exclude_unset=True)
    if changes.get("is_default"):
        await _clear_default(session, plan.agent_id)
    for name, value in changes.items():
        if name == "name" and value is None:
            continue
        setattr(plan, name, bool(value) if name == "is_default" else value)
    plan.updated_at = now
    await session.flush()


async def add_step(session: AsyncSession, plan: Plan, data: StepIn, now: datetime) -> PlanStep:
    await check_owned(session, plan.agent_id, [data.template_id])
    count = len(await plan_steps(session, plan.id))
    step = PlanStep(plan_id=plan.id, position=count, **data.model_dump())
    session.add(step)
    plan.updated_at = now
    await session.flush()
    return step


async def soft_delete_plan(session: AsyncSession, plan: Plan, now: datetime) -> None:
    """Soft delete: clients already on the plan keep their scheduled steps."""
    plan.deleted_at = plan.updated_at = now
    plan.is_default, plan.start_on_stage = False, None
    await session.flush()


async def update_step(
    session: AsyncSession, plan: Plan, step: PlanStep, data: StepUpdate, now: datetime
) -> None:
    await check_owned(session, plan.agent_id, [data.template_id])
    for name, value in data.model_dump(exclude_unset=True).items():
        if value is not None or name in ("instructions", "template_id"):
            setattr(step, name, value)
    if step.template_id is not None and step.action != "email":
        raise TemplateInvalid("only an email step sends a template")
    await renumber(session, plan.id, step if data.position is not None else None)
    plan.updated_at = now


async def remove_step(session: AsyncSession, plan: Plan, step: PlanStep) -> None:
    await session.delete(step)
    await session.flush()
    await renumber(session, plan.id, None)


async def get_step(session: AsyncSession, plan: Plan, step_id: uuid.UUID) -> PlanStep | None:
    statement = select(PlanStep).where(PlanStep.id == step_id, PlanStep.plan_id == plan.id)
    return (await session.scalars(statement)).one_or_none()


async def renumber(session: AsyncSession, plan_id: uuid.UUID, moved: PlanStep | None) -> None:
    """Positions 0..n-1 in order, with ``moved`` at its requested position."""
    steps = [step for step in await plan_steps(session, plan_id) if step is not moved]
    if moved is not None:
        steps.insert(min(moved.position, len(steps)), moved)
    for position, step in enumerate(steps):
        step.position = position
    await session.flush()
