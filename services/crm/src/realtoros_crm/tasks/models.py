"""Follow-up tasks: one email to one client, due at a time."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Literal, get_args

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from realtoros_crm.db import Base, created_at_column, in_list, uuid_pk

if TYPE_CHECKING:
    from realtoros_crm.emails.models import Email

TaskStatus = Literal[
    "pending",
    "composing",
    "awaiting_approval",
    "sending",
    "sent",
    "failed",
    "unknown",
    "skipped",
    "cancelled",
    "done",
]
TASK_STATUSES: tuple[str, ...] = get_args(TaskStatus)
TaskType = Literal["email", "call", "meeting", "custom"]
TASK_TYPES: tuple[str, ...] = get_args(TaskType)
TaskPriority = Literal["high", "medium", "low"]
TASK_PRIORITIES: tuple[str, ...] = get_args(TaskPriority)
OPEN_STATUSES = ("pending", "composing", "awaiting_approval", "sending")
"""Not finished yet: anything else is final."""


class Task(Base):
    __tablename__ = "tasks"
    __table_args__ = (
        CheckConstraint(f"status IN ({in_list(TASK_STATUSES)})", name="status"),
        CheckConstraint(f"task_type IN ({in_list(TASK_TYPES)})", name="task_type"),
        CheckConstraint(f"priority IN ({in_list(TASK_PRIORITIES)})", name="priority"),
        # The claim reads only pending tasks in due order: a small partial index.
        Index("ix_tasks_pending_due_at", "due_at", postgresql_where=text("status = 'pending'")),
        # The claim's order, and its "anything due?" probe from the index alone (0014).
        Index(
            "ix_tasks_due_email",
            "due_at",
            "id",
            postgresql_where=text("status = 'pending' AND task_type = 'email'"),
            postgresql_include=["plan_run_id"],
        ),
        Index("ix_tasks_plan_run_id", "plan_run_id"),
        Index("ix_tasks_agent_id_due_at", "agent_id", "due_at"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    agent_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agents.id", ondelete="CASCADE"))
    client_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("clients.id", ondelete="CASCADE"), index=True
    )
    task_type: Mapped[str] = mapped_column(String(20), default="email", server_default="email")
    """Only email tasks are claimed and composed; the others are the agent's to do."""
    priority: Mapped[str] = mapped_column(String(10), default="medium", server_default="medium")
    plan_run_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("plan_runs.id", ondelete="SET NULL")
    )
    step_position: Mapped[int | None]
    completed_at: Mapped[datetime | None]
    purpose: Mapped[str] = mapped_column(String(200), default="Custom", server_default="Custom")
    instructions: Mapped[str | None] = mapped_column(Text)
    due_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(20), default="pending", server_default="pending")
    email_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("emails.id", use_alter=True, ondelete="SET NULL")
    )
    failure_reason: Mapped[str | None] = mapped_column(Text)
    template_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("email_templates.id", ondelete="SET NULL"), index=True
    )
    """The email is this template, rendered at the claim, instead of an AI-written draft."""
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = created_at_column()

    email: Mapped[Email | None] = relationship(foreign_keys=[email_id], lazy="raise")
