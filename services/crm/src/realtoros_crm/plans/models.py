"""Follow-up plans (ordered steps) and their runs: one plan applied to one client."""

from __future__ import annotations

import uuid
from datetime import datetime, time
from typing import Literal, get_args

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, Time, text
from sqlalchemy.orm import Mapped, mapped_column

from realtoros_crm.clients.models import STAGES
from realtoros_crm.db import Base, created_at_column, in_list, uuid_pk

StepAction = Literal["email", "call", "meeting", "custom"]
STEP_ACTIONS: tuple[str, ...] = get_args(StepAction)
Priority = Literal["high", "medium", "low"]
PRIORITIES: tuple[str, ...] = get_args(Priority)
RunStatus = Literal["active", "paused", "done", "stopped", "cancelled"]
RUN_STATUSES: tuple[str, ...] = get_args(RunStatus)
LIVE_RUN_STATUSES = ("active", "paused")


class Plan(Base):
    __tablename__ = "plans"
    __table_args__ = (
        CheckConstraint(
            f"start_on_stage IS NULL OR start_on_stage IN ({in_list(STAGES)})",
            name="start_on_stage",
        ),
        Index("ix_plans_agent_id_created_at", "agent_id", "created_at"),
        # One standard plan per agent, even when two first requests race.
        Index("uq_plans_builtin", "agent_id", unique=True, postgresql_where=text("builtin")),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    agent_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agents.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    start_on_stage: Mapped[str | None] = mapped_column(String(20))
    """Applied automatically when one of the agent's clients enters this stage."""
    is_default: Mapped[bool] = mapped_column(default=False, server_default=text("false"))
    """Applied to every new client of the agent."""
    builtin: Mapped[bool] = mapped_column(default=False, server_default=text("false"))
    pause_on_conversation_minutes: Mapped[int | None]
    """A logged call (connected) or meeting at least this long pauses the plan for the
    client; None: logged conversations never pause it."""
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = created_at_column()
    deleted_at: Mapped[datetime | None]


class PlanStep(Base):
    __tablename__ = "plan_steps"
    __table_args__ = (
        CheckConstraint(f"action IN ({in_list(STEP_ACTIONS)})", name="action"),
        CheckConstraint(f"priority IN ({in_list(PRIORITIES)})", name="priority"),
        CheckConstraint("delay_days >= 0", name="delay_days"),
        Index("ix_plan_steps_plan_id_position", "plan_id", "position"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    plan_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("plans.id", ondelete="CASCADE"))
    position: Mapped[int]
    delay_days: Mapped[int]
    """Days after the plan starts for the client."""
    time_of_day: Mapped[time] = mapped_column(Time, default=time(10))
    """Local time (the client's zone, else the agent's)."""
    action: Mapped[str] = mapped_column(String(20), default="email")
    purpose: Mapped[str] = mapped_column(String(200))
    instructions: Mapped[str | None] = mapped_column(Text)
    priority: Mapped[str] = mapped_column(String(10), default="medium")
    template_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("email_templates.id", ondelete="RESTRICT"), index=True
    )
    """An email step sends this template, rendered, instead of an AI-written draft."""


class PlanRun(Base):
    __tablename__ = "plan_runs"
    __table_args__ = (
        CheckConstraint(f"status IN ({in_list(RUN_STATUSES)})", name="status"),
        # A plan runs at most once at a time per client (an automatic start is idempotent).
        Index(
            "uq_plan_runs_live",
            "client_id",
            "plan_id",
            unique=True,
            postgresql_where=text("status IN ('active', 'paused')"),
        ),
        Index("ix_plan_runs_agent_id_status", "agent_id", "status"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    agent_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agents.id", ondelete="CASCADE"))
    client_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("clients.id", ondelete="CASCADE"), index=True
    )
    plan_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("plans.id", ondelete="SET NULL"))
    plan_name: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20), default="active")
    started_at: Mapped[datetime]
    paused_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    stop_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = created_at_column()
