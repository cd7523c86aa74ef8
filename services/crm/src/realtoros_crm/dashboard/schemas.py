"""What the dashboard and the activity feed return."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel


class Rates(BaseModel):
    """Shares of the emails sent in the period (None when none was sent)."""

    delivery: float | None
    open: float | None
    click: float | None
    bounce: float | None
    unsubscribe: float | None


class EmailFigures(BaseModel):
    sent_today: int
    sent_this_week: int
    sent: int
    delivered: int
    opened: int
    clicked: int
    bounced: int
    complained: int
    unsubscribed: int
    rates: Rates


class TaskFigures(BaseModel):
    pending: int
    overdue: int
    done: int
    """Completed by the agent in the period."""


class PlanProgress(BaseModel):
    plan_id: uuid.UUID | None
    plan_name: str
    active: int
    done: int
    stopped: int


class Dashboard(BaseModel):
    period_from: datetime
    period_to: datetime
    total_clients: int
    active_clients: int
    clients_by_stage: dict[str, int]
    conversion_rate: float | None
    """Closed clients over every client who entered the pipeline (None without clients)."""
    tasks: TaskFigures
    emails: EmailFigures
    plans: list[PlanProgress]


class FeedItem(BaseModel):
    id: uuid.UUID
    kind: str
    summary: str
    occurred_at: datetime
    client_id: uuid.UUID
    client_name: str
    email_id: uuid.UUID | None
    task_id: uuid.UUID | None
