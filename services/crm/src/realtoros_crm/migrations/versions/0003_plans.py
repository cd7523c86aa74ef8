"""Follow-up plans, their steps and runs; task types and priorities; email outcomes.

Revision ID: 0003_plans
Revises: 0002
Create Date: 2026-11-25 22:45:00
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0003_plans"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STAGES = "'lead', 'prospect', 'negotiating', 'under_contract', 'closed', 'lost'"
EMAIL_OUTCOME_TIMES = (
    "edited_at",
    "approved_at",
    "delivered_at",
    "delivery_delayed_at",
    "first_opened_at",
    "first_clicked_at",
    "bounced_at",
    "complained_at",
    "rejected_at",
)


def _timestamps() -> list[sa.Column[Any]]:
    return [
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
    ]


def _create_plans() -> None:
    op.create_table(
        "plans",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("agent_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("description", sa.Text()),
        sa.Column("start_on_stage", sa.String(20)),
        sa.Column("is_default", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("builtin", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        *_timestamps(),
        sa.Column("deleted_at", sa.DateTime(timezone=True)),
        sa.CheckConstraint(
            f"start_on_stage IS NULL OR start_on_stage IN ({STAGES})", name="start_on_stage"
        ),
        sa.ForeignKeyConstraint(["agent_id"], ["agents.id"], ondelete="CASCADE"),
    )
    op.create_index("ix_plans_agent_id_created_at", "plans", ["agent_id", "created_at"])
    op.create_index(
        "uq_plans_builtin",
        "plans",
        ["agent_id"],
        unique=True,
        postgresql_where=sa.text("builtin"),
    )
    op.create_table(
        "plan_steps",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("plan_id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("delay_days", sa.Integer(), nullable=False),
        sa.Column("time_of_day", sa.Time(), nullable=False),
        sa.Column("action", sa.String(20), nullable=False),
        sa.Column("purpose", sa.String(200), nullable=False),
        sa.Column("instructions", sa.Text()),
        sa.Column("priority", sa.String(10), nullable=False),
        sa.CheckConstraint("action IN ('email', 'call', 'meeting', 'custom')", name="action"),
        sa.CheckConstraint("priority IN ('high', 'medium', 'low')", name="priority"),
        sa.CheckConstraint("delay_days >= 0", name="delay_days"),
        sa.ForeignKeyConstraint(["plan_id"], ["plans.id"], ondelete="CASCADE"),
    )
    op.create_index("ix_plan_steps_plan_id_position", "plan_steps", ["plan_id", "position"])


def _create_plan_runs() -> None:
    op.create_table(
        "plan_runs",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("agent_id", sa.Uuid(), nullable=False),
        sa.Column("client_id", sa.Uuid(), nullable=False),
        sa.Column("plan_id", sa.Uuid()),
        sa.Column("plan_name", sa.String(200), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("paused_at", sa.DateTime(timezone=True)),
        sa.Column("ended_at", sa.DateTime(timezone=True)),
        sa.Column("stop_reason", sa.Text()),
        *_timestamps(),
        sa.CheckConstraint(
            "status IN ('active', 'paused', 'done', 'stopped', 'cancelled')", name="status"
        ),
        sa.ForeignKeyConstraint(["agent_id"], ["agents.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["client_id"], ["clients.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["plan_id"], ["plans.id"], ondelete="SET NULL"),
    )
    op.create_index("ix_plan_runs_client_id", "plan_runs", ["client_id"])
    op.create_index("ix_plan_runs_agent_id_status", "plan_runs", ["agent_id", "status"])
    op.create_index(
        "uq_plan_runs_live",
        "plan_runs",
        ["client_id", "plan_id"],
        unique=True,
        postgresql_where=sa.text("status IN ('active', 'paused')"),
    )


def _alter_tasks() -> None:
    op.add_column(
        "tasks", sa.Column("task_type", sa.String(20), server_default="email", nullable=False)
    )
    op.add_column(
        "tasks", sa.Column("priority", sa.String(10), server_default="medium", nullable=False)
    )
    op.add_column("tasks", sa.Column("plan_run_id", sa.Uuid()))
    op.add_column("tasks", sa.Column("step_position", sa.Integer()))
    op.add_column("tasks", sa.Column("completed_at", sa.DateTime(timezone=True)))
    op.create_check_constraint(
        "task_type", "tasks", "task_type IN ('email', 'call', 'meeting', 'custom')"
    )
    op.create_check_constraint("priority", "tasks", "priority IN ('high', 'medium', 'low')")
    op.create_foreign_key(None, "tasks", "plan_runs", ["plan_run_id"], ["id"], ondelete="SET NULL")
    op.create_index("ix_tasks_plan_run_id", "tasks", ["plan_run_id"])


def _alter_emails() -> None:
    for column in EMAIL_OUTCOME_TIMES:
        op.add_column("emails", sa.Column(column, sa.DateTime(timezone=True)))
    for column in ("open_count", "click_count"):
        op.add_column(
            "emails", sa.Column(column, sa.Integer(), server_default=sa.text("0"), nullable=False)
        )
    op.add_column("emails", sa.Column("bounce_type", sa.String(20)))
    op.create_index("ix_emails_agent_id_sent_at", "emails", ["agent_id", "sent_at"])


def upgrade() -> None:
    _create_plans()
    _create_plan_runs()
    _alter_tasks()
    _alter_emails()


def downgrade() -> None:
    op.drop_index("ix_emails_agent_id_sent_at", "emails")
    for column in (*EMAIL_OUTCOME_TIMES, "open_count", "click_count", "bounce_type"):
        op.drop_column("emails", column)
    op.drop_index("ix_tasks_plan_run_id", "tasks")
    op.drop_constraint(op.f("fk_tasks_plan_run_id_plan_runs"), "tasks", type_="foreignkey")
    op.drop_constraint(op.f("ck_tasks_task_type"), "tasks", type_="check")
    op.drop_constraint(op.f("ck_tasks_priority"), "tasks", type_="check")
    for column in ("task_type", "priority", "plan_run_id", "step_position", "completed_at"):
        op.drop_column("tasks", column)
    op.drop_table("plan_runs")
    op.drop_table("plan_steps")
    op.drop_table("plans")
