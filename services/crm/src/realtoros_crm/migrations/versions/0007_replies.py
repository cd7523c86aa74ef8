"""Clients' replies: the replies table, what a reply does to each plan, why a run is
paused, the email's replied/held times and the agent's "replies straight to me" choice.

Revision ID: 0007_replies
Revises: 0008_scale
Create Date: 2026-12-02 05:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0007_replies"
down_revision: str | Sequence[str] | None = "0008_scale"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_FALSE = sa.text("false")


def upgrade() -> None:
    op.add_column(
        "agents", sa.Column("replies_to_me", sa.Boolean(), server_default=_FALSE, nullable=False)
    )
    op.add_column(
        "plans", sa.Column("on_reply", sa.String(10), server_default="pause", nullable=False)
    )
    op.create_check_constraint("on_reply", "plans", "on_reply IN ('pause', 'stop', 'continue')")
    op.add_column("plan_runs", sa.Column("pause_reason", sa.Text()))
    op.add_column("emails", sa.Column("replied_at", sa.DateTime(timezone=True)))
    op.add_column("emails", sa.Column("held_at", sa.DateTime(timezone=True)))
    _create_replies()


def _create_replies() -> None:
    op.create_table(
        "replies",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("agent_id", sa.Uuid(), nullable=False),
        sa.Column("client_id", sa.Uuid(), nullable=False),
        sa.Column("email_id", sa.Uuid()),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("matched_by", sa.String(20), nullable=False),
        sa.Column("from_email", sa.String(320), nullable=False),
        sa.Column("subject", sa.String(300), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("attachments", postgresql.JSONB(), nullable=False),
        sa.Column("verdicts", postgresql.JSONB(), nullable=False),
        sa.Column("unsubscribe_requested", sa.Boolean(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True)),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint("kind IN ('reply', 'auto-reply')", name="kind"),
        sa.ForeignKeyConstraint(["agent_id"], ["agents.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["client_id"], ["clients.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["email_id"], ["emails.id"], ondelete="SET NULL"),
    )
    op.create_index("ix_replies_client_id", "replies", ["client_id"])
    op.create_index(
        "ix_replies_agent_id_unanswered",
        "replies",
        ["agent_id", "received_at"],
        postgresql_where=sa.text("answered_at IS NULL AND kind = 'reply'"),
    )


def downgrade() -> None:
    op.drop_table("replies")
    op.drop_column("emails", "held_at")
    op.drop_column("emails", "replied_at")
    op.drop_column("plan_runs", "pause_reason")
    op.drop_constraint("on_reply", "plans", type_="check")
    op.drop_column("plans", "on_reply")
    op.drop_column("agents", "replies_to_me")
