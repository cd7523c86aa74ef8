"""The agent in touch with a client: calls, meetings and notes logged on the client's
timeline. A conversation (a connected call, a meeting) is a contact: it pauses each of the
client's active plans whose ``pause_on_conversation_minutes`` it reaches, as Follow Up Boss
pauses an action plan on a call longer than a few minutes (plans/contact.py, the one rule
for a client's contact, replies included). Flushes only: the caller commits."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from realtoros_contracts import Namespace
from realtoros_crm.activities.models import Activity
from realtoros_crm.activities.repository import record_activity
from realtoros_crm.activities.schemas import OUTCOME_LABELS, ActivityCreate
from realtoros_crm.clients.models import Client
from realtoros_crm.plans.contact import respond_to_client_contact
from realtoros_crm.tasks.actions import TaskConflict, finish_task
from realtoros_crm.tasks.service import get_task

KIND = {"call": "call_logged", "meeting": "meeting_logged", "note": "note_logged"}


class TaskNotFound(LookupError):
    """The task is not one of the agent's tasks for this client (404)."""


@dataclass
class Logged:
    activity: Activity
    paused_plans: list[str] = field(default_factory=list)
    task_completed: bool = False


def summary_of(data: ActivityCreate) -> str:
    """'Call (connected, 12 min): wants a viewing' — what the timeline shows."""
    parts = [OUTCOME_LABELS[data.outcome]] if data.outcome else []
    if data.duration_minutes is not None:
        parts.append(f"{data.duration_minutes} min")
    head = data.kind.capitalize() + (f" ({', '.join(parts)})" if parts else "")
    return f"{head}: {data.notes}" if data.notes else head


def is_conversation(data: ActivityCreate) -> bool:
    return data.kind == "meeting" or (data.kind == "call" and data.outcome == "connected")


async def log_activity(
    session: AsyncSession, client: Client, data: ActivityCreate, now: datetime, *, ns: Namespace
) -> Logged:
    """Record the activity (at ``occurred_at``, default now); pause the plans it reaches;
    complete the task it was logged from when asked. :class:`TaskNotFound`,
    :class:`~realtoros_crm.tasks.actions.TaskConflict`."""
    task = None
    if data.task_id is not None:
        task = await get_task(session, client.agent_id, data.task_id, lock=True)
        if task is None or task.client_id != client.id:
            raise TaskNotFound(f"task {data.task_id} not found")
    activity = record_activity(
        session,
        agent_id=client.agent_id,
        client_id=client.id,
        kind=KIND[data.kind],
        summary=summary_of(data),
        occurred_at=data.occurred_at or now,
        task_id=data.task_id,
    )
    activity.outcome, activity.duration_minutes = data.outcome, data.duration_minutes
    logged = Logged(activity)
    if is_conversation(data) and data.duration_minutes is not None:
        reason = f"a {data.duration_minutes}-minute {data.kind} was logged"
        runs = await respond_to_client_contact(
            session, client.id, reason, now, conversation_minutes=data.duration_minutes
        )
        logged.paused_plans = [run.plan_name for run in runs]
    if task is not None and data.complete_task:
        await finish_task(session, task, "complete", now, ns=ns)
        logged.task_completed = True
    await session.flush()
    return logged


__all__ = ["Logged", "TaskConflict", "TaskNotFound", "log_activity", "summary_of"]
