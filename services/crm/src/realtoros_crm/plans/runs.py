"""Running a plan for a client: its steps become tasks, scheduled in the client's local time
(emails inside the agent's sending window). Pause, resume, cancel, and the automatic stop.
Flushes only: the caller commits."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from realtoros_crm.activities.service import SUMMARY_LIMIT, record_activity
from realtoros_crm.agents.models import Agent
from realtoros_crm.clients.models import Client
from realtoros_crm.db import copy_rows
from realtoros_crm.plans.models import LIVE_RUN_STATUSES, Plan, PlanRun, PlanStep
from realtoros_crm.plans.repository import lock_run_status, run_has_open_tasks
from realtoros_crm.plans.window import SendingWindow, local_instant, next_allowed, spread
from realtoros_crm.tasks.models import Task


class Follower(Protocol):
    """What starting a plan needs of a client (a ``Client`` is one)."""

    @property
    def id(self) -> uuid.UUID: ...
    @property
    def agent_id(self) -> uuid.UUID: ...
    @property
    def timezone(self) -> str | None: ...


class PlanConflict(Exception):
    """The plan cannot do that in its current state (the API answers 409)."""


def window_for(agent: Agent, client_zone: str | None) -> SendingWindow:
    """The agent's sending window in the client's time zone (the agent's when unset): the
    one rule of the claimer, the plans and the pages' "goes out …" notes."""
    zone = client_zone or agent.timezone
    return SendingWindow.of(agent.sending_days, agent.sending_start, agent.sending_end, zone)


def client_window(client: Follower, agent: Agent) -> SendingWindow:
    """The agent's sending window in the client's time zone (the agent's when unset)."""
    return window_for(agent, client.timezone)


def step_due_at(start: datetime, step: PlanStep, window: SendingWindow) -> datetime:
    """``delay_days`` after the start's local date, at the step's local time (never before
    the start); an email is moved to the window's next opening when that falls outside it."""
    day = start.astimezone(window.zone).date() + timedelta(days=step.delay_days)
    # A step whose hour has passed on the start day is due at the start, not in the past.
    due = max(local_instant(day, step.time_of_day, window.zone), start)
    return next_allowed(due, window) if step.action == "email" else due


async def _agent(session: AsyncSession, agent_id: uuid.UUID) -> Agent:
    return (await session.scalars(select(Agent).where(Agent.id == agent_id))).one()


async def live_run(session: AsyncSession, client_id: uuid.UUID, plan_id: uuid.UUID) -> bool:
    statement = select(
        exists().where(
            PlanRun.client_id == client_id,
            PlanRun.plan_id == plan_id,
            PlanRun.status.in_(LIVE_RUN_STATUSES),
        )
    )
    return bool(await session.scalar(statement))


async def apply_plan(
    session: AsyncSession, client: Client, plan: Plan, *, start: datetime, now: datetime
) -> PlanRun:
    """Start ``plan`` for ``client``: one pending task per step."""
    if (reason := client.no_follow_up_reason()) is not None:
        raise PlanConflict(f"cannot start a plan: {reason}")
    if await live_run(session, client.id, plan.id):
        raise PlanConflict(f"plan '{plan.name}' is already running for this client")
    [run_id] = await start_runs(session, [(client, plan)], start=start, now=now)
    return await session.get_one(PlanRun, run_id)


async def start_runs(
    session: AsyncSession,
    starts: Sequence[tuple[Follower, Plan]],
    *,
    start: datetime,
    now: datetime,
) -> list[uuid.UUID]:
    """Start each plan for its client, for one client or an import's thousands alike: a run,
    one pending task per step, a ``plan_started`` activity, all written with COPY. The
    caller has checked that the client may get follow-ups and has no live run of the plan.
    Returns the new runs' ids, in order."""
    if not starts:
        return []
    agents = await _agents(session, {client.agent_id for client, _ in starts})
    steps = await _steps(session, {plan.id for _, plan in starts})
    rows = _RunRows(start, now)
    for client, plan in starts:
        agent = agents[client.agent_id]
        window = client_window(client, agent)
        rows.add(client, plan, window, steps[plan.id], agent.send_spread_minutes)
    await session.flush()  # the clients the rows refer to
    await copy_rows(session, "plan_runs", RUN_COLUMNS, rows.runs)
    await copy_rows(session, "tasks", TASK_COLUMNS, rows.tasks)
    await copy_rows(session, "activities", ACTIVITY_COLUMNS, rows.activities)
    return [run[0] for run in rows.runs]


RUN_COLUMNS = (
    "id", "agent_id", "client_id", "plan_id", "plan_name", "status", "started_at",
    "created_at", "updated_at",
)  # fmt: skip
TASK_COLUMNS = (
    "id", "agent_id", "client_id", "plan_run_id", "step_position", "task_type", "priority",
    "purpose", "instructions", "due_at", "status", "created_at", "updated_at", "template_id",
)  # fmt: skip
ACTIVITY_COLUMNS = ("id", "agent_id", "client_id", "kind", "summary", "occurred_at")


class _RunRows:
    """The rows of new runs. A step's due time depends only on the start, the step and
    the window, so it is worked out once per window (clients share a few time zones); an
    email's is then spread by the client (:func:`spread`)."""

    def __init__(self, start: datetime, now: datetime) -> None:
        self.start, self.now = start, now
        self.runs: list[tuple[Any, ...]] = []
        self.tasks: list[tuple[Any, ...]] = []
        self.activities: list[tuple[Any, ...]] = []
        self._due: dict[tuple[SendingWindow, uuid.UUID], datetime] = {}

    def add(
        self,
        client: Follower,
        plan: Plan,
        window: SendingWindow,
        steps: Sequence[PlanStep],
        spread_minutes: int = 0,
    ) -> None:
        run_id, agent_id, now = uuid.uuid4(), client.agent_id, self.now
        self.runs.append(
            (run_id, agent_id, client.id, plan.id, plan.name, "active", self.start, now, now)
        )
        for step in steps:
            due = self._due.get((window, step.id))
            if due is None:
                due = self._due[window, step.id] = step_due_at(self.start, step, window)
            if step.action == "email":
                due = spread(due, client.id, window, spread_minutes)
            task = (
                uuid.uuid4(), agent_id, client.id, run_id, step.position, step.action,
                step.priority, step.purpose, step.instructions, due, "pending", now, now,
                step.template_id,
            )  # fmt: skip
            self.tasks.append(task)
        summary = f"Follow-up plan '{plan.name}' started"[:SUMMARY_LIMIT]
        self.activities.append((uuid.uuid4(), agent_id, client.id, "plan_started", summary, now))


async def _agents(session: AsyncSession, agent_ids: set[uuid.UUID]) -> dict[uuid.UUID, Agent]:
    agents = await session.scalars(select(Agent).where(Agent.id.in_(agent_ids)))
    return {agent.id: agent for agent in agents}


async def _steps(
    session: AsyncSession, plan_ids: set[uuid.UUID]
) -> dict[uuid.UUID, list[PlanStep]]:
    """Each plan's steps in order (as ``plan_steps`` orders them), in one query."""
    statement = (
        select(PlanStep)
        .where(PlanStep.plan_id.in_(plan_ids))
        .order_by(PlanStep.plan_id, PlanStep.position, PlanStep.delay_days, PlanStep.id)
    )
    steps: dict[uuid.UUID, list[PlanStep]] = {plan_id: [] for plan_id in plan_ids}
    for step in await session.scalars(statement):
        steps[step.plan_id].append(step)
    return steps


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
