"""An agent's working day: phone-only clients, logged calls/meetings/notes, typed custom
fields, saved lists, email templates (and plan steps and tasks that send them).

Revision ID: 0009_working_day
Revises: 0004
Create Date: 2026-12-02 05:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0009_working_day"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PHONE_DIGITS = "regexp_replace(coalesce(phone, ''), '[^0-9]', '', 'g')"


def _search_text(email: str) -> str:
    return (
        f"lower(name || ' ' || {email} || ' ' || coalesce(phone, '') || ' ' || "
        f"{PHONE_DIGITS} || ' ' || coalesce(property_address, ''))"
    )


def _replace_search_text(email: str) -> None:
    """PostgreSQL 16 cannot change a generated column's expression: drop and add it (its
    trigram index, where there is one, goes with it and is made again)."""
    op.drop_column("clients", "search_text")
    op.add_column(
        "clients",
        sa.Column(
            "search_text",
            sa.Text(),
            sa.Computed(_search_text(email), persisted=True),
            nullable=False,
        ),
    )
    op.execute(
        """
        DO $$ BEGIN
          IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm') THEN
            CREATE INDEX IF NOT EXISTS ix_clients_search_text
              ON clients USING gin (search_text gin_trgm_ops);
          END IF;
        END $$
        """
    )


def _uuid(name: str, **kw: object) -> sa.Column[object]:
    return sa.Column(name, sa.Uuid(), **kw)  # type: ignore[arg-type]


def _agent_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["agent_id"], ["agents.id"], name=f"fk_{table}_agent_id_agents", ondelete="CASCADE"
    )


def _created(name: str = "created_at") -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False)


def _tables() -> None:
    op.create_table(
        "custom_fields",
        _uuid("id", nullable=False),
        _uuid("agent_id", nullable=False),
        sa.Column("key", sa.String(60), nullable=False),
        sa.Column("label", sa.String(100), nullable=False),
        sa.Column("field_type", sa.String(10), nullable=False),
        sa.Column(
            "choices",
            postgresql.ARRAY(sa.Text()),
            server_default=sa.text("'{}'::text[]"),
            nullable=False,
        ),
        _created(),
        sa.CheckConstraint(
            "field_type IN ('text', 'number', 'date', 'choice')",
            name="ck_custom_fields_field_type",
        ),
        _agent_fk("custom_fields"),
        sa.PrimaryKeyConstraint("id", name="pk_custom_fields"),
        sa.UniqueConstraint("agent_id", "key", name="uq_custom_fields_agent_id_key"),
    )
    op.create_table(
        "saved_lists",
        _uuid("id", nullable=False),
        _uuid("agent_id", nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("filter", postgresql.JSONB(), nullable=False),
        _created(),
        _created("updated_at"),
        _agent_fk("saved_lists"),
        sa.PrimaryKeyConstraint("id", name="pk_saved_lists"),
        sa.UniqueConstraint("agent_id", "name", name="uq_saved_lists_agent_id_name"),
    )
    op.create_table(
        "email_templates",
        _uuid("id", nullable=False),
        _uuid("agent_id", nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("subject", sa.String(200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        _created(),
        _created("updated_at"),
        _agent_fk("email_templates"),
        sa.PrimaryKeyConstraint("id", name="pk_email_templates"),
        sa.UniqueConstraint("agent_id", "name", name="uq_email_templates_agent_id_name"),
    )


def _template_column(table: str, ondelete: str) -> None:
    op.add_column(table, _uuid("template_id", nullable=True))
    op.create_foreign_key(
        f"fk_{table}_template_id_email_templates",
        table,
        "email_templates",
        ["template_id"],
        ["id"],
        ondelete=ondelete,
    )
    op.create_index(f"ix_{table}_template_id", table, ["template_id"])


def upgrade() -> None:
    op.alter_column("clients", "email", existing_type=sa.String(320), nullable=True)
    op.alter_column("clients", "email_key", existing_type=sa.String(320), nullable=True)
    _replace_search_text("coalesce(email, '')")
    op.create_check_constraint(
        "ck_clients_email_or_phone", "clients", "email IS NOT NULL OR phone IS NOT NULL"
    )
    op.add_column("activities", sa.Column("outcome", sa.String(40), nullable=True))
    op.add_column("activities", sa.Column("duration_minutes", sa.Integer(), nullable=True))
    op.add_column("plans", sa.Column("pause_on_conversation_minutes", sa.Integer(), nullable=True))
    _tables()
    _template_column("plan_steps", "RESTRICT")
    _template_column("tasks", "SET NULL")


def downgrade() -> None:
    for table in ("tasks", "plan_steps"):
        op.drop_index(f"ix_{table}_template_id", table_name=table)
        op.drop_constraint(f"fk_{table}_template_id_email_templates", table, type_="foreignkey")
        op.drop_column(table, "template_id")
    for table in ("email_templates", "saved_lists", "custom_fields"):
        op.drop_table(table)
    op.drop_column("plans", "pause_on_conversation_minutes")
    op.drop_column("activities", "duration_minutes")
    op.drop_column("activities", "outcome")
    op.drop_constraint("ck_clients_email_or_phone", "clients", type_="check")
    op.execute("DELETE FROM clients WHERE email IS NULL")  # a phone-only lead had no place then
    _replace_search_text("email")
    op.alter_column("clients", "email_key", existing_type=sa.String(320), nullable=False)
    op.alter_column("clients", "email", existing_type=sa.String(320), nullable=False)
