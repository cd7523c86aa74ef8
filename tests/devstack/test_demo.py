"""``realtoros-dev demo`` fills an account in the dev stack's database (or $DATABASE_URL)."""

from __future__ import annotations

import os

import asyncpg

from realtoros_devstack.cli import run_demo


async def test_the_demo_fills_the_database_it_is_pointed_at(database_url: str) -> None:
    env = {**os.environ, "DATABASE_URL": database_url, "REALTOROS_SECRETS_DIR": "/nonexistent"}
    assert run_demo("dana@harbor.example", "correct horse battery", env) == 0
    conn = await asyncpg.connect(database_url)
    try:
        clients = await conn.fetchval("SELECT count(*) FROM clients")
        # The bounce is told as the CRM records one: sent, bounced, the client unsubscribed.
        bounced = await conn.fetch(
            "SELECT e.status, e.sent_at IS NOT NULL AS sent, e.bounce_type, c.unsubscribed"
            " FROM emails e JOIN clients c ON c.id = e.client_id WHERE e.bounced_at IS NOT NULL"
        )
    finally:
        await conn.close()
    assert clients == 24
    assert [tuple(row) for row in bounced] == [("failed", True, "permanent", True)]
