"""Starting a plan for a client: its steps become tasks, scheduled in the client's local time
(emails inside the agent's sending window). What happens to a live run afterwards (pause,
resume, cancel, the automatic stop, done) is in ``lifecycle``. Flushes only: the caller
commits."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from realtoros_crm.activities.service import SUMMARY_LIMIT
from realtoros_crm.agents.models import Agent
from realtoros_crm.clients.models import Client
from realtoros_crm.db import copy_rows
from realtoros_crm.plans.models import LIVE_RUN_STATUSES, Plan, PlanRun, PlanStep
from realtoros_crm.plans.window import SendingWindow, local_instant, next_allowed, spread


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
