"""Claiming due tasks: one batch per transaction, safe across replicas (SKIP LOCKED).

For each due task the claim creates its email (the id every later event carries), moves
the task to ``composing`` and writes its TaskDue to the outbox — all in the caller's
transaction, so either all of it happens or none. Flushes only: the caller commits.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypeVar

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from realtoros_crm.activities.service import recent_timelines, record_activity
from realtoros_crm.agents.models import Agent
from realtoros_crm.claims.context import ClaimContext, task_due_event
from realtoros_crm.clients.models import Client
from realtoros_crm.emails.models import Email
from realtoros_crm.messaging.outbox import add_to_outbox
from realtoros_crm.plans.models import PlanRun
from realtoros_crm.plans.runs import client_window, stop_client_plans
from realtoros_crm.plans.window import next_allowed
from realtoros_crm.tasks.models import Task
from realtoros_runtime.consuming import describe_validation_error

log = logging.getLogger(__name__)

M = TypeVar("M", Agent, Client)


@dataclass
class ClaimResult:
    claimed: list[uuid.UUID] = field(default_factory=list)
    """Ids of the tasks now composing."""
    skipped: list[uuid.UUID] = field(default_factory=list)
    failed: list[uuid.UUID] = field(default_factory=list)
    deferred: list[uuid.UUID] = field(default_factory=list)
    """Plan steps due outside the sending window: moved to its next opening."""

    @property
    def selected(self) -> int:
        return len(self.claimed) + len(self.skipped) + len(self.failed) + len(self.deferred)


async def lock_due_tasks(session: AsyncSession, *, now: datetime, limit: int) -> Sequence[Task]:
    """Due email tasks only (calls, meetings and custom tasks are the agent's to do), and
    none of a paused plan."""
    paused = select(PlanRun.id).where(PlanRun.id == Task.plan_run_id, PlanRun.status == "paused")
    statement = (
        select(Task)
        .where(
            Task.status == "pending",
            Task.due_at <= now,
            Task.task_type == "email",
            ~paused.exists(),
        )
        .order_by(Task.due_at, Task.id)
        .limit(limit)
        .with_for_update(of=Task, skip_locked=True)
    )
    return (await session.scalars(statement)).all()


async def _by_id(
    session: AsyncSession, model: type[M], ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, M]:
    rows = await session.scalars(select(model).where(model.id.in_(set(ids))))
    return {row.id: row for row in rows}


def _close_task(task: Task, status: str, reason: str, now: datetime) -> None:
    task.status = status
    task.failure_reason = reason
    task.updated_at = now


async def claim_batch(
    session: AsyncSession, *, now: datetime, limit: int, ctx: ClaimContext
) -> ClaimResult:
    """Claim up to ``limit`` due tasks that no other transaction holds."""
    tasks = await lock_due_tasks(session, now=now, limit=limit)
    result = ClaimResult()
    if not tasks:
        return result
    clients = await _by_id(session, Client, (task.client_id for task in tasks))
    agents = await _by_id(session, Agent, (task.agent_id for task in tasks))
    timelines = await recent_timelines(session, clients)
    stop: dict[uuid.UUID, str] = {}
    for task in tasks:
        client, agent = clients[task.client_id], agents[task.agent_id]
        if not _may_claim(task, client, agent, now, result, stop):
            if task.status == "skipped":
                _record_skip(session, task, task.failure_reason or "", now)
            continue
        email_id = uuid.uuid4()
        try:
            event = task_due_event(
                task, client, agent, timelines[client.id], email_id=email_id, ctx=ctx
            )
        except ValidationError as exc:
            log.error("task %s cannot be composed: %s", task.id, describe_validation_error(exc))
            _close_task(task, "failed", describe_validation_error(exc)[:2000], now)
            result.failed.append(task.id)
            continue
        _claim(session, task, email_id, client.email, now)
        add_to_outbox(session, ctx.ns, event, event_id=str(uuid.uuid4()), now=now)
        result.claimed.append(task.id)
    for client_id, reason in stop.items():  # the client's plans end with it
        await stop_client_plans(session, client_id, reason, now)
    await session.flush()
    return result


def _may_claim(
    task: Task,
    client: Client,
    agent: Agent,
    now: datetime,
    result: ClaimResult,
    stop: dict[uuid.UUID, str],
) -> bool:
    """False when the task is skipped (the client gets no follow-up) or deferred (a plan
    step outside the sending window moves to its next opening)."""
    if (reason := client.no_follow_up_reason()) is not None:
        _close_task(task, "skipped", reason, now)
        result.skipped.append(task.id)
        if task.plan_run_id is not None:
            stop[client.id] = reason
        return False
    if task.plan_run_id is not None:
        opens = next_allowed(now, client_window(client, agent))
        if opens > now:  # a late claim (the service was down) still respects the window
            task.due_at, task.updated_at = opens, now
            result.deferred.append(task.id)
            return False
    return True


def _claim(session: AsyncSession, task: Task, email_id: uuid.UUID, to: str, now: datetime) -> None:
    email = Email(
        id=email_id,
        agent_id=task.agent_id,
        client_id=task.client_id,
        task_id=task.id,
        status="composing",
        to_email=to,
        created_at=now,
        updated_at=now,
    )
    # Task and email refer to each other; through the relationship the flush inserts the
    # email before it updates the task.
    task.email = email
    task.status = "composing"
    task.updated_at = now
    session.add(email)


def _record_skip(session: AsyncSession, task: Task, reason: str, now: datetime) -> None:
    record_activity(
        session,
        agent_id=task.agent_id,
        client_id=task.client_id,
        kind="follow_up_skipped",
        summary=f"{task.purpose} follow-up skipped: {reason}",
        occurred_at=now,
        task_id=task.id,
    )
