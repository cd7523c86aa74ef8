"""Email steps due at the same time spread over part of the sending window, per agent.

Revision ID: 0013_spreading
Revises: 0011_webapp
Create Date: 2026-12-02 08:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013_spreading"
down_revision: str | None = "0011_webapp"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "agents",
        sa.Column(
            "send_spread_minutes", sa.SmallInteger(), server_default=sa.text("0"), nullable=False
        ),
    )


def downgrade() -> None:
    op.drop_column("agents", "send_spread_minutes")
