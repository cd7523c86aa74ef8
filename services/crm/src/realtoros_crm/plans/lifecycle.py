"""A live plan run after its start: paused, resumed or cancelled by the agent, stopped
automatically (closed, lost, unsubscribed, bounced, complained), done once no task is open.
Flushes only: the caller commits."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from realtoros_crm.activities.service import record_activity
from realtoros_crm.agents.models import Agent
from realtoros_crm.clients.models import Client
from realtoros_crm.plans.models import LIVE_RUN_STATUSES, PlanRun
from realtoros_crm.plans.repository import lock_run_status, run_has_open_tasks
from realtoros_crm.plans.runs import PlanConflict, client_window
from realtoros_crm.plans.window import next_allowed, spread
from realtoros_crm.tasks.models import Task


async def _agent(session: AsyncSession, agent_id: uuid.UUID) -> Agent:
    return (await session.scalars(select(Agent).where(Agent.id == agent_id))).one()


def _record(session: AsyncSession, run: PlanRun, kind: str, summary: str, now: datetime) -> None:
    record_activity(
        session,
        agent_id=run.agent_id,
        client_id=run.client_id,
        kind=kind,
        summary=summary,
        occurred_at=now,
    )


async def pending_tasks(session: AsyncSession, run: PlanRun) -> Sequence[Task]:
    statement = (
        select(Task)
        .where(Task.plan_run_id == run.id, Task.status == "pending")
        .order_by(Task.due_at, Task.id)
        .with_for_update()
    )
    return (await session.scalars(statement)).all()


async def pause_run(
    session: AsyncSession, run: PlanRun, now: datetime, reason: str = "paused by the agent"
) -> None:
    if run.status != "active":
        raise PlanConflict(f"only an active plan can be paused (this one is {run.status})")
    run.status, run.paused_at, run.updated_at = "paused", now, now
    run.pause_reason = reason
    _record(session, run, "plan_paused", f"Follow-up plan '{run.plan_name}' paused: {reason}", now)
    await session.flush()


async def resume_run(session: AsyncSession, run: PlanRun, now: datetime) -> None:
    """The remaining steps move by the paused time: the next one counts from the resume."""
    if run.status != "paused" or run.paused_at is None:
        raise PlanConflict(f"only a paused plan can be resumed (this one is {run.status})")
    paused_for = max(now - run.paused_at, timedelta(0))
    client = (await session.scalars(select(Client).where(Client.id == run.client_id))).one()
    agent = await _agent(session, run.agent_id)
    window = client_window(client, agent)
    for task in await pending_tasks(session, run):
        due = task.due_at + paused_for
        if task.task_type == "email" and (opens := next_allowed(due, window)) != due:
            # Moved to the window's opening: spread again, or every resumed run would
            # fall due at that same opening.
            due = spread(opens, client.id, window, agent.send_spread_minutes)
        task.due_at = due
        task.updated_at = now
    run.status, run.paused_at, run.updated_at = "active", None, now
    run.pause_reason = None
    days = paused_for.total_seconds() / 86400
    summary = f"Follow-up plan '{run.plan_name}' resumed after {days:.1f} day(s) paused"
    _record(session, run, "plan_resumed", summary, now)
    await session.flush()


async def end_run(
    session: AsyncSession, run: PlanRun, status: str, reason: str, now: datetime
) -> int:
    """Stop or cancel a live run: its remaining (pending) steps are cancelled."""
    if run.status not in LIVE_RUN_STATUSES:
        raise PlanConflict(f"the plan is already {run.status}")
    cancelled = 0
    for task in await pending_tasks(session, run):
        task.status, task.failure_reason, task.updated_at = "cancelled", reason, now
        cancelled += 1
    run.status, run.stop_reason, run.ended_at, run.updated_at = status, reason, now, now
    run.paused_at = None
    verb = "cancelled" if status == "cancelled" else "stopped"
    summary = f"Follow-up plan '{run.plan_name}' {verb}: {reason} ({cancelled} step(s) cancelled)"
    _record(session, run, f"plan_{verb}", summary, now)
    await session.flush()
    return cancelled


RUN_ACTIONS = ("pause", "resume", "cancel")
"""What an agent can do to a running plan (API and web alike)."""


async def act_on_run(session: AsyncSession, run: PlanRun, action: str, now: datetime) -> None:
    """One of :data:`RUN_ACTIONS` (the caller checks it is one); :class:`PlanConflict`
    when the run is not in a state that allows it."""
    if action == "pause":
        await pause_run(session, run, now)
    elif action == "resume":
        await resume_run(session, run, now)
    else:
        await end_run(session, run, "cancelled", "cancelled by the agent", now)


async def stop_client_plans(
    session: AsyncSession, client_id: uuid.UUID, reason: str, now: datetime
) -> int:
    """Stop every live plan of the client (closed, lost, unsubscribed, bounced, complained)."""
    statement = (
        select(PlanRun)
        .where(PlanRun.client_id == client_id, PlanRun.status.in_(LIVE_RUN_STATUSES))
        .order_by(PlanRun.created_at, PlanRun.id)
        .with_for_update()
    )
    runs = (await session.scalars(statement)).all()
    for run in runs:
        await end_run(session, run, "stopped", reason, now)
    return len(runs)


async def finish_if_complete(
    session: AsyncSession, run_id: uuid.UUID | None, now: datetime
) -> None:
    """Mark an active run done once none of its tasks is still open. Called once per sent
    or failed email: it reads (the run locked, then its open tasks) without loading the
    run, which it loads only to finish it."""
    if run_id is None:
        return
    await session.flush()  # the caller's changes to the tasks count
    if await lock_run_status(session, run_id) != "active":
        return
    if await run_has_open_tasks(session, run_id):
        return
    run = await session.get_one(PlanRun, run_id)
    run.status, run.ended_at, run.updated_at = "done", now, now
    _record(session, run, "plan_done", f"Follow-up plan '{run.plan_name}' completed", now)
    await session.flush()
