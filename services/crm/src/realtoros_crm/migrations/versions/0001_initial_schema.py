"""Initial schema: agents, clients, tasks, emails, activities, outbox, inbox.

Revision ID: 0001
Revises:
Create Date: 2026-11-25 21:54:24.521015
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _now_column(name: str) -> sa.Column[object]:
    """A timestamptz column that defaults to now() (created_at, updated_at, …)."""
    return sa.Column(
        name, sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
    )


def _fk(table: str, column: str, target: str, ondelete: str) -> sa.ForeignKeyConstraint:
    """``table.column`` → ``target.id``, named as the models' naming convention names it."""
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}"), ondelete=ondelete
    )


def _owned_ids() -> list[sa.Column[object]]:
    """The id of a row that belongs to an agent's client, and those two keys."""
    return [sa.Column(name, sa.Uuid(), nullable=False) for name in ("id", "agent_id", "client_id")]


def upgrade() -> None:
    op.create_table(
        "agents",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("phone", sa.String(length=40), nullable=True),
        sa.Column("title", sa.String(length=200), nullable=True),
        sa.Column("brokerage", sa.String(length=200), nullable=True),
        sa.Column("signature", sa.Text(), nullable=True),
        sa.Column("tone", sa.String(length=200), nullable=True),
        sa.Column("postal_address", sa.String(length=500), nullable=True),
        sa.Column("timezone", sa.String(length=64), server_default="UTC", nullable=False),
        sa.Column("send_mode", sa.String(length=20), server_default="automatic", nullable=False),
        _now_column("created_at"),
        sa.CheckConstraint(
            "send_mode IN ('automatic', 'approval')", name=op.f("ck_agents_send_mode")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agents")),
    )
    op.create_index(
        "uq_agents_email_lower", "agents", [sa.literal_column("lower(email)")], unique=True
    )
    op.create_table(
        "inbox",
        sa.Column("consumer", sa.String(length=100), nullable=False),
        sa.Column("event_id", sa.String(length=200), nullable=False),
        _now_column("processed_at"),
        sa.PrimaryKeyConstraint("consumer", "event_id", name=op.f("pk_inbox")),
    )
    op.create_table(
        "outbox",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("event_id", sa.String(length=200), nullable=False),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("stream", sa.String(length=100), nullable=False),
        sa.Column("event_type", sa.String(length=100), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("headers", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        _now_column("created_at"),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
        sa.UniqueConstraint("event_id", name=op.f("uq_outbox_event_id")),
    )
    op.create_index(
        "ix_outbox_unpublished",
        "outbox",
        ["id"],
        unique=False,
        postgresql_where=sa.text("published_at IS NULL"),
    )
    op.create_table(
        "clients",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("agent_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("phone", sa.String(length=40), nullable=True),
        sa.Column("stage", sa.String(length=20), server_default="lead", nullable=False),
        sa.Column("property_address", sa.String(length=500), nullable=True),
        sa.Column("property_type", sa.String(length=40), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column(
            "custom_fields",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column("unsubscribed", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("last_contacted_at", sa.DateTime(timezone=True), nullable=True),
        _now_column("created_at"),
        _now_column("updated_at"),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "stage IN ('lead', 'prospect', 'negotiating', 'under_contract', 'closed', 'lost')",
            name=op.f("ck_clients_stage"),
        ),
        _fk("clients", "agent_id", "agents", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_clients")),
    )
    op.create_index(
        "ix_clients_agent_id_created_at", "clients", ["agent_id", "created_at"], unique=False
    )
    op.create_table(
        "tasks",
        *_owned_ids(),
        sa.Column("purpose", sa.String(length=200), server_default="Custom", nullable=False),
        sa.Column("instructions", sa.Text(), nullable=True),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=20), server_default="pending", nullable=False),
        sa.Column("email_id", sa.Uuid(), nullable=True),
        sa.Column("failure_reason", sa.Text(), nullable=True),
        _now_column("created_at"),
        _now_column("updated_at"),
        sa.CheckConstraint(
            "status IN ('pending', 'composing', 'awaiting_approval', 'sending', 'sent', "
            "'failed', 'unknown', 'skipped', 'cancelled', 'done')",
            name=op.f("ck_tasks_status"),
        ),
        _fk("tasks", "agent_id", "agents", "CASCADE"),
        _fk("tasks", "client_id", "clients", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tasks")),
    )
    op.create_index("ix_tasks_agent_id_due_at", "tasks", ["agent_id", "due_at"], unique=False)
    op.create_index(op.f("ix_tasks_client_id"), "tasks", ["client_id"], unique=False)
    op.create_index(
        "ix_tasks_pending_due_at",
        "tasks",
        ["due_at"],
        unique=False,
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.create_table(
        "emails",
        *_owned_ids(),
        sa.Column("task_id", sa.Uuid(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("to_email", sa.String(length=320), nullable=False),
        sa.Column("subject", sa.String(length=300), nullable=True),
        sa.Column("body_text", sa.Text(), nullable=True),
        sa.Column("composer", sa.String(length=20), nullable=True),
        sa.Column("model", sa.String(length=200), nullable=True),
        sa.Column("needs_review", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column(
            "review_reasons",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'[]'::jsonb"),
            nullable=False,
        ),
        sa.Column("provider_message_id", sa.String(length=300), nullable=True),
        sa.Column("transport", sa.String(length=20), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("failure_reason", sa.Text(), nullable=True),
        _now_column("created_at"),
        _now_column("updated_at"),
        sa.CheckConstraint(
            "status IN ('composing', 'awaiting_approval', 'sending', 'sent', 'failed', "
            "'unknown', 'skipped')",
            name=op.f("ck_emails_status"),
        ),
        _fk("emails", "agent_id", "agents", "CASCADE"),
        _fk("emails", "client_id", "clients", "CASCADE"),
        _fk("emails", "task_id", "tasks", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_emails")),
    )
    op.create_index(op.f("ix_emails_client_id"), "emails", ["client_id"], unique=False)
    op.create_index(op.f("ix_emails_task_id"), "emails", ["task_id"], unique=False)
    # tasks and emails refer to each other: this key is added once both exist.
    op.create_foreign_key(
        op.f("fk_tasks_email_id_emails"),
        "tasks",
        "emails",
        ["email_id"],
        ["id"],
        ondelete="SET NULL",
    )
    op.create_table(
        "activities",
        *_owned_ids(),
        sa.Column("kind", sa.String(length=60), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("email_id", sa.Uuid(), nullable=True),
        sa.Column("task_id", sa.Uuid(), nullable=True),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        _fk("activities", "agent_id", "agents", "CASCADE"),
        _fk("activities", "client_id", "clients", "CASCADE"),
        _fk("activities", "email_id", "emails", "SET NULL"),
        _fk("activities", "task_id", "tasks", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_activities")),
    )
    op.create_index(
        "ix_activities_client_id_occurred_at",
        "activities",
        ["client_id", "occurred_at"],
        unique=False,
    )
    op.create_index(op.f("ix_activities_email_id"), "activities", ["email_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_activities_email_id"), table_name="activities")
    op.drop_index("ix_activities_client_id_occurred_at", table_name="activities")
    op.drop_table("activities")
    op.drop_constraint(op.f("fk_tasks_email_id_emails"), "tasks", type_="foreignkey")
    op.drop_index(op.f("ix_emails_task_id"), table_name="emails")
    op.drop_index(op.f("ix_emails_client_id"), table_name="emails")
    op.drop_table("emails")
    op.drop_index(
        "ix_tasks_pending_due_at",
        table_name="tasks",
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.drop_index(op.f("ix_tasks_client_id"), table_name="tasks")
    op.drop_index("ix_tasks_agent_id_due_at", table_name="tasks")
    op.drop_table("tasks")
    op.drop_index("ix_clients_agent_id_created_at", table_name="clients")
    op.drop_table("clients")
    op.drop_index(
        "ix_outbox_unpublished",
        table_name="outbox",
        postgresql_where=sa.text("published_at IS NULL"),
    )
    op.drop_table("outbox")
    op.drop_table("inbox")
    op.drop_index("uq_agents_email_lower", table_name="agents")
    op.drop_table("agents")
