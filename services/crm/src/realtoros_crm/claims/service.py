"""Claiming due tasks: one batch per transaction, safe across replicas (SKIP LOCKED).

For each due task the claim creates its email (the id every later event carries), moves
the task to ``composing`` and writes its TaskDue to the outbox — all in the caller's
transaction, so either all of it happens or none. Writes only: the caller commits.

A batch is hundreds of tasks, so it is built for that: one locking SELECT that brings the
clients along, one query for their agents and one for their timelines, plain rows and
dicts in Python (each agent's and client's part of the event built once per batch), one
validation per TaskDue, and one statement per kind of write (claims/repository.py).
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from realtoros_contracts import TaskDue, encode
from realtoros_crm.activities.repository import Entry, recent_timelines, record_activities
from realtoros_crm.agents.models import Agent
from realtoros_crm.claims import repository
from realtoros_crm.claims.repository import Claimed, DueTask, TemplateRow
from realtoros_crm.claims.taskdue import (
    ClaimContext,
    agent_fields,
    client_fields,
    delivery_fields,
    rendered_template,
    task_due_body,
    task_due_problem,
)
from realtoros_crm.clients.models import NO_EMAIL, no_follow_up_reason
from realtoros_crm.messaging.outbox import outbox_envelope
from realtoros_crm.plans.lifecycle import finish_if_complete, stop_client_plans
from realtoros_crm.plans.runs import client_window
from realtoros_crm.plans.window import next_allowed
from realtoros_runtime.telemetry import inject_current_context

log = logging.getLogger(__name__)


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


async def lock_due_tasks(session: AsyncSession, *, now: datetime, limit: int) -> list[DueTask]:
    """Due email tasks only (calls, meetings and custom tasks are the agent's to do), and
    none of a paused plan: locked, in due order, each with its client and agent."""
    return await repository.lock_due_tasks(session, now, limit)


@dataclass
class _Batch:
    """One batch's work: what it writes, what it reports, and the parts of the events
    that are the same for every task of an agent or a client."""

    ctx: ClaimContext
    now: datetime
    timelines: dict[uuid.UUID, list[dict[str, Any]]]
    templates: dict[uuid.UUID, TemplateRow]
    trace: dict[str, str] = field(default_factory=lambda: inject_current_context({}))
    """The trace context of the claim (the tick's consume span), for every outbox row."""
    result: ClaimResult = field(default_factory=ClaimResult)
    claimed: list[Claimed] = field(default_factory=list)
    skipped: list[Entry] = field(default_factory=list)
    """The skipped tasks' timeline entries."""
    closed: list[tuple[uuid.UUID, str, str]] = field(default_factory=list)
    """(task id, skipped or failed, reason)"""
    deferred: list[tuple[uuid.UUID, datetime]] = field(default_factory=list)
    """(task id, its new due time)"""
    stop: dict[uuid.UUID, str] = field(default_factory=dict)
    """Clients whose plans end with them (client id → reason)."""
    runs_to_check: set[uuid.UUID] = field(default_factory=set)
    """Plans that go on without a skipped step (a phone-only client's email)."""
    _agents: dict[uuid.UUID, dict[str, Any]] = field(default_factory=dict)
    _clients: dict[uuid.UUID, tuple[dict[str, Any], dict[str, Any]]] = field(default_factory=dict)
    _windows: dict[tuple[uuid.UUID, str | None], datetime] = field(default_factory=dict)

    def body(self, due: DueTask, email_id: uuid.UUID) -> dict[str, Any]:
        task, client, agent = due.task, due.client, due.agent
        if (agent_part := self._agents.get(agent.id)) is None:
            agent_part = self._agents[agent.id] = agent_fields(agent)
        if (parts := self._clients.get(client.id)) is None:
            url = self.ctx.unsubscribe_url(client.id)
            parts = client_fields(client), delivery_fields(client, agent, url)
            self._clients[client.id] = parts
        return task_due_body(
            task,
            parts[0],
            agent_part,
            parts[1],
            self.timelines[client.id],
            email_id=email_id,
            client_id=client.id,
            agent_id=agent.id,
        )

    def skip(self, due: DueTask, reason: str) -> None:
        task = due.task
        summary = f"{task.purpose} follow-up skipped: {reason}"
        kind = "follow_up_skipped"
        self.skipped.append(Entry(task.agent_id, task.client_id, kind, summary, task.id))
        self.closed.append((task.id, "skipped", reason))
        self.result.skipped.append(task.id)

    def fail(self, task_id: uuid.UUID, reason: str) -> None:
        self.closed.append((task_id, "failed", reason))
        self.result.failed.append(task_id)

    def window_opens(self, due: DueTask) -> datetime:
        """The sending window's next opening for this client (``now`` when it is open)."""
        key = (due.agent.id, due.client.timezone)  # the window depends on nothing else
        if (opens := self._windows.get(key)) is None:
            # client_window reads the agent's window fields, which the row has.
            window = client_window(due.client, cast(Agent, due.agent))
            opens = self._windows[key] = next_allowed(self.now, window)
        return opens


async def claim_batch(
    session: AsyncSession, *, now: datetime, limit: int, ctx: ClaimContext
) -> ClaimResult:
    """Claim up to ``limit`` due tasks that no other transaction holds."""
    due = await lock_due_tasks(session, now=now, limit=limit)
    if not due:
        return ClaimResult()
    timelines = await recent_timelines(session, (d.client.id for d in due))
    templates = await repository.load_templates(session, (d.task.template_id for d in due))
    batch = _Batch(ctx, now, timelines, templates)
    for one in due:
        if _may_claim(batch, one):
            _claim(batch, one)
    route = (ctx.ns.subject(TaskDue), ctx.ns.stream_for(TaskDue).name, TaskDue.TYPE)
    await repository.insert_claimed(session, batch.claimed, route, now)
    await repository.close_tasks(session, batch.closed, now)
    await repository.defer_tasks(session, batch.deferred, now)
    await record_activities(session, batch.skipped, now)
    for client_id, reason in batch.stop.items():  # the client's plans end with it
        await stop_client_plans(session, client_id, reason, now)
    for run_id in batch.runs_to_check:  # a skipped last step finishes its plan
        await finish_if_complete(session, run_id, now)
    return batch.result


def _may_claim(batch: _Batch, due: DueTask) -> bool:
    """False when the task is skipped (the client gets no follow-up) or deferred (a plan
    step outside the sending window moves to its next opening)."""
    task, client = due.task, due.client
    reason = no_follow_up_reason(client.stage, client.unsubscribed, client.deleted_at)
    if reason is not None:
        batch.skip(due, reason)
        if task.plan_run_id is not None:
            batch.stop[client.id] = reason
        return False
    if not client.email:  # a phone-only client: its plan's calls and meetings go on
        batch.skip(due, NO_EMAIL)
        if task.plan_run_id is not None:
            batch.runs_to_check.add(task.plan_run_id)
        return False
    if task.plan_run_id is not None:
        opens = batch.window_opens(due)
        if opens > batch.now:  # a late claim (the service was down) still respects the window
            batch.deferred.append((task.id, opens))
            batch.result.deferred.append(task.id)
            return False
    return True


def _claim(batch: _Batch, due: DueTask) -> None:
    task, client, agent, email_id, event_id = due
    body = batch.body(due, email_id)
    if task.template_id is not None:
        template = batch.templates.get(task.template_id)
        body["template"], problem = rendered_template(template, client, agent)
        if problem is not None:
            batch.fail(task.id, problem)
            return
    try:
        event = TaskDue.model_validate(body)
    except ValidationError:
        problem = task_due_problem(body)
        log.error("task %s cannot be composed: %s", task.id, problem)
        batch.fail(task.id, problem[:2000])
        return
    # Serialised now, so the 500 events of a batch do not all live until its end.
    envelope = outbox_envelope(event, event_id, batch.now, batch.trace)
    batch.claimed.append(
        Claimed(
            task.id,
            task.agent_id,
            task.client_id,
            email_id,
            client.email,
            event_id,
            encode(event),
            envelope,
        )
    )
    batch.result.claimed.append(task.id)
