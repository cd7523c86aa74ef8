"""Merge the accounts/clients and plans branches.

Revision ID: 0004
Revises: 0003_accounts_clients, 0003_plans
Create Date: 2026-11-25 23:45:00
"""

from collections.abc import Sequence

revision: str = "0004"
down_revision: str | Sequence[str] | None = ("0003_accounts_clients", "0003_plans")
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
