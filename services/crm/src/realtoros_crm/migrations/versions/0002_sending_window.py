"""The agent's sending window and the client's time zone.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 22:35:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "agents",
        sa.Column(
            "sending_days",
            postgresql.ARRAY(sa.SmallInteger()),
            server_default=sa.text("'{1,2,3,4,5,6}'"),
            nullable=False,
        ),
    )
    op.add_column(
        "agents",
        sa.Column("sending_start", sa.Time(), server_default=sa.text("'09:00'"), nullable=False),
    )
    op.add_column(
        "agents",
        sa.Column("sending_end", sa.Time(), server_default=sa.text("'18:00'"), nullable=False),
    )
    op.add_column("clients", sa.Column("timezone", sa.String(length=64), nullable=True))


def downgrade() -> None:
    op.drop_column("clients", "timezone")
    op.drop_column("agents", "sending_end")
    op.drop_column("agents", "sending_start")
    op.drop_column("agents", "sending_days")
