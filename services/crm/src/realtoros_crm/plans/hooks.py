"""What the clients package calls when clients are created or change stage, so plans
start and stop by themselves. One client (a POST, a PATCH) and an import's batch of
thousands take the same path: starting plans costs a fixed number of queries per batch
(the runs, tasks and timeline entries are written with COPY); stopping them (closed,
lost) goes client by client. Flushes only: the caller commits (in the same transaction as
the client change)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from realtoros_crm.clients.models import INACTIVE_STAGES, Client, no_follow_up_reason
from realtoros_crm.clients.stages import StageChange
from realtoros_crm.plans.lifecycle import stop_client_plans
from realtoros_crm.plans.models import LIVE_RUN_STATUSES, Plan, PlanRun
from realtoros_crm.plans.runs import Follower, start_runs


@dataclass(frozen=True)
class Changed:
    """A client whose stage changed (or who was created), as it is now."""

    id: uuid.UUID
    agent_id: uuid.UUID
    stage: str
    timezone: str | None
    unsubscribed: bool
    deleted_at: datetime | None


Start = tuple[Changed, bool, datetime]
"""A client whose automatic plans start: (client, with the default plan, when)."""


async def on_stage_changes_run_plans(session: AsyncSession, changes: Sequence[StageChange]) -> None:
    """The clients package's stage hook (``CrmState.stage_hooks``): a new client gets the
    agent's default plan and the plans of its stage; a stage change starts the plans of the
    new stage (once: a plan already running is left alone), or stops every plan of a client
    who is now closed or lost."""
    clients = await _clients(session, {change.client_id for change in changes})
    starts: list[Start] = []
    for change in changes:
        client = clients.get(change.client_id)
        if client is None or client.stage == change.old:
            continue
        if change.old is not None and client.stage in INACTIVE_STAGES:
            await stop_client_plans(session, client.id, f"client {client.stage}", change.at)
        elif no_follow_up_reason(client.stage, client.unsubscribed, client.deleted_at) is None:
            starts.append((client, change.old is None, change.at))
    await start_automatic_plans(session, starts)


async def _clients(session: AsyncSession, ids: set[uuid.UUID]) -> dict[uuid.UUID, Changed]:
    """The changed clients as they are now (the caller changed them in this session: the
    query flushes first)."""
    if not ids:
        return {}
    statement = select(
        Client.id,
        Client.agent_id,
        Client.stage,
        Client.timezone,
        Client.unsubscribed,
        Client.deleted_at,
    ).where(Client.id.in_(ids))
    return {row.id: Changed(*row) for row in await session.execute(statement)}


async def start_automatic_plans(session: AsyncSession, starts: Sequence[Start]) -> None:
    """Start, for each client, the agent's plans that start on its stage (and the default
    plan for a new client), in the plans' order, each unless already running for it."""
    if not starts:
        return
    plans = await _automatic_plans(session, {client.agent_id for client, _, _ in starts})
    wanted = [
        (client, plan, at)
        for client, with_default, at in starts
        for plan in plans.get(client.agent_id, ())
        if plan.start_on_stage == client.stage or (with_default and plan.is_default)
    ]
    taken = await _live_runs(session, {client.id for client, _, _ in wanted})
    by_time: dict[datetime, list[tuple[Follower, Plan]]] = {}
    for client, plan, at in wanted:
        if (client.id, plan.id) not in taken:
            taken.add((client.id, plan.id))
            by_time.setdefault(at, []).append((client, plan))
    for at, pairs in by_time.items():
        await start_runs(session, pairs, start=at, now=at)


async def _automatic_plans(
    session: AsyncSession, agent_ids: set[uuid.UUID]
) -> dict[uuid.UUID, list[Plan]]:
    """Each agent's plans that start by themselves (on a stage, or the default), in order."""
    statement = (
        select(Plan)
        .where(
            Plan.agent_id.in_(agent_ids),
            Plan.deleted_at.is_(None),
            or_(Plan.start_on_stage.is_not(None), Plan.is_default.is_(True)),
        )
        .order_by(Plan.created_at, Plan.id)
    )
    plans: dict[uuid.UUID, list[Plan]] = {}
    for plan in await session.scalars(statement):
        plans.setdefault(plan.agent_id, []).append(plan)
    return plans


async def _live_runs(
    session: AsyncSession, client_ids: set[uuid.UUID]
) -> set[tuple[uuid.UUID, uuid.UUID | None]]:
    """(client, plan) of the clients' active or paused runs."""
    if not client_ids:
        return set()
    statement = select(PlanRun.client_id, PlanRun.plan_id).where(
        PlanRun.client_id.in_(client_ids), PlanRun.status.in_(LIVE_RUN_STATUSES)
    )
    return {(client_id, plan_id) for client_id, plan_id in await session.execute(statement)}
