"""Accounts (refresh tokens, Google link, sign-in throttling, profile) and the client list
(source, tags, search, duplicate keys, sort indexes) and CSV import jobs.

Revision ID: 0003_accounts_clients
Revises: 0002
Create Date: 2026-11-25 22:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003_accounts_clients"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STAGES = ("lead", "prospect", "negotiating", "under_contract", "closed", "lost")
PROPERTY_TYPES = ("residential", "commercial", "land", "other")
STAGE_RANK = (
    "CASE stage "
    + " ".join(f"WHEN '{s}' THEN {i}" for i, s in enumerate(STAGES, start=1))
    + " ELSE 0 END"
)
PHONE_DIGITS = "regexp_replace(coalesce(phone, ''), '[^0-9]', '', 'g')"
SEARCH_TEXT = (
    "lower(name || ' ' || email || ' ' || coalesce(phone, '') || ' ' || "
    f"{PHONE_DIGITS} || ' ' || coalesce(property_address, ''))"
)


def _uuid(name: str, **kw: object) -> sa.Column[object]:
    return sa.Column(name, sa.Uuid(), **kw)  # type: ignore[arg-type]


def _agents() -> None:
    op.alter_column("agents", "password_hash", existing_type=sa.String(200), nullable=True)
    op.add_column("agents", sa.Column("google_sub", sa.String(length=255), nullable=True))
    op.create_unique_constraint(op.f("uq_agents_google_sub"), "agents", ["google_sub"])
    op.add_column("agents", sa.Column("bio", sa.Text(), nullable=True))
    op.add_column(
        "agents",
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
    )
    op.create_table(
        "refresh_tokens",
        _uuid("id", nullable=False),
        _uuid("agent_id", nullable=False),
        _uuid("family_id", nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        _uuid("replaced_by", nullable=True),
        sa.ForeignKeyConstraint(
            ["agent_id"],
            ["agents.id"],
            name="fk_refresh_tokens_agent_id_agents",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_refresh_tokens"),
        sa.UniqueConstraint("token_hash", name="uq_refresh_tokens_token_hash"),
    )
    op.create_index("ix_refresh_tokens_agent_id", "refresh_tokens", ["agent_id"])
    op.create_index("ix_refresh_tokens_family_id", "refresh_tokens", ["family_id"])
    op.create_table(
        "login_failures",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("key", sa.String(length=100), nullable=False),
        sa.Column("failed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_login_failures"),
    )
    op.create_index("ix_login_failures_key_failed_at", "login_failures", ["key", "failed_at"])


def _client_columns() -> None:
    op.add_column("clients", sa.Column("source", sa.String(length=100), nullable=True))
    op.add_column(
        "clients",
        sa.Column(
            "tags",
            postgresql.ARRAY(sa.Text()),
            server_default=sa.text("'{}'::text[]"),
            nullable=False,
        ),
    )
    computed = {
        "email_key": (sa.String(length=320), "lower(btrim(email))"),
        "phone_digits": (sa.Text(), PHONE_DIGITS),
        "stage_rank": (sa.SmallInteger(), STAGE_RANK),
        "last_contacted_sort": (
            sa.DateTime(timezone=True),
            "coalesce(last_contacted_at, '-infinity'::timestamptz)",
        ),
        "search_text": (sa.Text(), SEARCH_TEXT),
    }
    for name, (type_, expression) in computed.items():
        op.add_column(
            "clients",
            sa.Column(name, type_, sa.Computed(expression, persisted=True), nullable=False),
        )
    allowed = ", ".join(f"'{t}'" for t in PROPERTY_TYPES)
    op.execute(
        "UPDATE clients SET property_type = 'other' "
        f"WHERE property_type IS NOT NULL AND property_type NOT IN ({allowed})"
    )
    op.create_check_constraint(
        op.f("ck_clients_property_type"),
        "clients",
        f"property_type IS NULL OR property_type IN ({allowed})",
    )


def _client_indexes() -> None:
    op.drop_index("ix_clients_agent_id_created_at", table_name="clients")
    for name, columns in {
        "ix_clients_agent_id_created_at": ["agent_id", "created_at", "id"],
        "ix_clients_agent_id_name": ["agent_id", "name", "id"],
        "ix_clients_agent_id_stage_rank": ["agent_id", "stage_rank", "id"],
        "ix_clients_agent_id_last_contacted_sort": ["agent_id", "last_contacted_sort", "id"],
        "ix_clients_agent_id_email_key": ["agent_id", "email_key"],
        "ix_clients_agent_id_phone_digits": ["agent_id", "phone_digits"],
    }.items():
        op.create_index(name, "clients", columns)
    # Trigram index for the search, where the server ships pg_trgm (the embedded dev server
    # does not: the search then scans the agent's rows, still correct).
    op.execute(
        """
        DO $$ BEGIN
          IF EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm') THEN
            CREATE EXTENSION IF NOT EXISTS pg_trgm;
            CREATE INDEX IF NOT EXISTS ix_clients_search_text
              ON clients USING gin (search_text gin_trgm_ops);
          END IF;
        END $$
        """
    )
    op.create_index("ix_clients_tags", "clients", ["tags"], postgresql_using="gin")


def _imports() -> None:
    statuses = "'queued', 'running', 'completed', 'failed'"
    op.create_table(
        "client_imports",
        _uuid("id", nullable=False),
        _uuid("agent_id", nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("file_sha256", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("processed", sa.Integer(), nullable=False),
        sa.Column("imported", sa.Integer(), nullable=False),
        sa.Column("skipped", sa.Integer(), nullable=False),
        sa.Column(
            "mapping",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column(
            "report",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(f"status IN ({statuses})", name=op.f("ck_client_imports_status")),
        sa.ForeignKeyConstraint(
            ["agent_id"],
            ["agents.id"],
            name="fk_client_imports_agent_id_agents",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_client_imports"),
    )
    op.create_index(
        "ix_client_imports_agent_id_created_at", "client_imports", ["agent_id", "created_at"]
    )


def upgrade() -> None:
    op.add_column(
        "activities", sa.Column("seq", sa.BigInteger(), sa.Identity(always=False), nullable=False)
    )
    _agents()
    _client_columns()
    _client_indexes()
    _imports()


def downgrade() -> None:
    op.drop_column("activities", "seq")
    op.drop_table("client_imports")
    op.drop_index("ix_clients_tags", table_name="clients")
    op.execute("DROP INDEX IF EXISTS ix_clients_search_text")
    for name in (
        "ix_clients_agent_id_phone_digits",
        "ix_clients_agent_id_email_key",
        "ix_clients_agent_id_last_contacted_sort",
        "ix_clients_agent_id_stage_rank",
        "ix_clients_agent_id_name",
        "ix_clients_agent_id_created_at",
    ):
        op.drop_index(name, table_name="clients")
    op.create_index("ix_clients_agent_id_created_at", "clients", ["agent_id", "created_at"])
    op.drop_constraint(op.f("ck_clients_property_type"), "clients", type_="check")
    for name in ("search_text", "last_contacted_sort", "stage_rank", "phone_digits", "email_key"):
        op.drop_column("clients", name)
    op.drop_column("clients", "tags")
    op.drop_column("clients", "source")
    op.drop_table("login_failures")
    op.drop_table("refresh_tokens")
    op.drop_column("agents", "updated_at")
    op.drop_column("agents", "bio")
    op.drop_constraint(op.f("uq_agents_google_sub"), "agents", type_="unique")
    op.drop_column("agents", "google_sub")
    op.execute("UPDATE agents SET password_hash = '!' WHERE password_hash IS NULL")
    op.alter_column("agents", "password_hash", existing_type=sa.String(200), nullable=False)
