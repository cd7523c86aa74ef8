"""Indexes the pruner's deletions use (inbox rows by age).

Built CONCURRENTLY: an existing deployment's inbox may hold millions of rows, and a plain
CREATE INDEX would block the consumers' inserts for the whole build.

Revision ID: 0008_scale
Revises: 0009_working_day
Create Date: 2026-12-02 05:40:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0008_scale"
down_revision: str | Sequence[str] | None = "0010_integrations"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.get_context().autocommit_block():
        op.execute(
            "CREATE INDEX CONCURRENTLY IF NOT EXISTS ix_inbox_processed_at ON inbox (processed_at)"
        )


def downgrade() -> None:
    with op.get_context().autocommit_block():
        op.execute("DROP INDEX CONCURRENTLY IF EXISTS ix_inbox_processed_at")
