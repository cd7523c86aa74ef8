"""What the agent does with a task: reschedule, complete, skip, cancel. A status only
changes from the states that allow it; anything else is a :class:`TaskConflict`.
Flushes only: the caller commits."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from realtoros_contracts import Namespace
from realtoros_crm.activities.service import record_activity
from realtoros_crm.clients.events import announce_task_completed
from realtoros_crm.plans.lifecycle import finish_if_complete
from realtoros_crm.tasks.models import Task
from realtoros_crm.tasks.schemas import TaskUpdate

ALLOWED_FROM = {
    "complete": ("pending", "awaiting_approval", "failed", "unknown"),
    "skip": ("pending", "awaiting_approval", "failed", "unknown"),
    "cancel": ("pending",),
    "reschedule": ("pending",),
}
RESULT = {"complete": "done", "skip": "skipped", "cancel": "cancelled"}
# A time picked "now" in a form is already a few seconds old when it arrives.
PAST_GRACE = timedelta(minutes=2)
LABEL = {"email": "Follow-up email", "call": "Call", "meeting": "Meeting", "custom": "Task"}


# Where the task stands and what the agent can do instead, in their words (no status names).
WHY_NOT = {
    "awaiting_approval": "its draft is waiting for you: approve, edit or skip the draft",
    "composing": "its email is being written right now: wait a moment and reload",
    "sending": "its email is on its way to the client",
    "sent": "its email has already been sent",
    "done": "it is already completed",
    "skipped": "it was skipped",
    "cancelled": "it was cancelled",
    "failed": "its email could not be sent: see the reason on the task",
    "unknown": "it is not known whether its email went out: check with the client first",
}
VERB = {"complete": "completed", "skip": "skipped", "cancel": "cancelled"}


class TaskConflict(Exception):
    """The task's status does not allow the action (the API answers 409)."""


def _check(task: Task, action: str) -> None:
    if task.status not in ALLOWED_FROM[action]:
        why = WHY_NOT.get(task.status, f"it is {task.status.replace('_', ' ')}")
        raise TaskConflict(f"This task can't be {VERB.get(action, action + 'd')}: {why}.")


async def reschedule_task(
    session: AsyncSession, task: Task, data: TaskUpdate, now: datetime
) -> None:
    _check(task, "reschedule")
    if data.due_at is not None and data.due_at < now - PAST_GRACE:
        raise TaskConflict(
            "A task can't be moved into the past: choose a date and time from now on."
        )
    for name, value in data.model_dump(exclude_unset=True).items():
        if value is not None or name == "instructions":
            setattr(task, name, value)
    task.updated_at = now
    await session.flush()


async def finish_task(
    session: AsyncSession, task: Task, action: str, now: datetime, *, ns: Namespace
) -> None:
    """Complete, skip or cancel the task (and its unsent draft, if any); a completed task
    is announced (TaskCompleted)."""
    _check(task, action)
    status = RESULT[action]
    task.status, task.updated_at = status, now
    if action == "complete":
        task.completed_at, task.failure_reason = now, None
    elif task.failure_reason is None:
        task.failure_reason = f"{'skipped' if action == 'skip' else 'cancelled'} by the agent"
    email = task.email
    if email is not None and email.status in ("awaiting_approval", "failed", "unknown"):
        email.status, email.updated_at = "skipped", now
        email.failure_reason = f"the agent chose to {action} the task"
    record_activity(
        session,
        agent_id=task.agent_id,
        client_id=task.client_id,
        kind=f"task_{status}",
        summary=f"{LABEL.get(task.task_type, 'Task')} '{task.purpose}' {_verb(status)}",
        occurred_at=now,
        task_id=task.id,
        email_id=task.email_id,
    )
    if action == "complete":
        ids = (task.agent_id, task.id, task.client_id)
        announce_task_completed(
            session, ns, task_ids=ids, task_type=task.task_type, purpose=task.purpose, now=now
        )
    await session.flush()
    await finish_if_complete(session, task.plan_run_id, now)


def _verb(status: str) -> str:
    return {"done": "completed", "skipped": "skipped", "cancelled": "cancelled"}[status]
