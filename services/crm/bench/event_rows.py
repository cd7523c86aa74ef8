"""The rows ``events.py`` measures on: seeded with COPY as the claim leaves them, and
checked afterwards to have come out as the follow-up loop expects."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

Row = Sequence[Any]
Ids = tuple[uuid.UUID, uuid.UUID, uuid.UUID]  # email, task, client


async def seed(url: str, n: int, runs: bool) -> tuple[uuid.UUID, list[Ids]]:
    """One agent, ``n`` clients, each with a task and its email as the claim leaves them."""
    now = datetime.now(UTC)
    agent = uuid.uuid4()
    ids = [(uuid.uuid4(), uuid.uuid4(), uuid.uuid4()) for _ in range(n)]
    run_ids = [uuid.uuid4() if runs else None for _ in range(n)]
    clients = [(c, agent, f"Client {i}", f"c{i}@example.org") for i, (_, _, c) in enumerate(ids)]
    plan_runs = [
        (r, agent, c, "Standard", "active", now) for (_, _, c), r in zip(ids, run_ids, strict=True)
    ]
    tasks: list[Row] = []
    for (e, t, c), r in zip(ids, run_ids, strict=True):
        tasks.append((t, agent, c, r, "Day 1", now, "composing", e))
        if r is not None:  # the run's next step, not due yet: the run stays active
            tasks.append(
                (uuid.uuid4(), agent, c, r, "Day 3", now + timedelta(days=2), "pending", None)
            )
    emails = [(e, agent, c, t, "composing", "c@example.org") for e, t, c in ids]
    conn = await asyncpg.connect(url)
    try:
        async with conn.transaction():
            await conn.execute(
                "INSERT INTO agents (id, email, name) VALUES ($1, 'a@example.com', 'A')", agent
            )
            await copy(conn, "clients", ("id", "agent_id", "name", "email"), clients)
            if runs:
                cols: tuple[str, ...] = ("id", "agent_id", "client_id", "plan_name")
                cols += ("status", "started_at")
                await copy(conn, "plan_runs", cols, plan_runs)
            cols = ("id", "agent_id", "client_id", "plan_run_id", "purpose", "due_at", "status")
            await copy(conn, "tasks", cols, [row[:7] for row in tasks])
            cols = ("id", "agent_id", "client_id", "task_id", "status", "to_email")
            await copy(conn, "emails", cols, emails)
            await conn.executemany(
                "UPDATE tasks SET email_id = $2 WHERE id = $1",
                [(row[0], row[7]) for row in tasks if row[7] is not None],
            )
        await conn.execute("ANALYZE")
    finally:
        await conn.close()
    return agent, ids


async def copy(
    conn: asyncpg.Connection, table: str, columns: Sequence[str], rows: Sequence[Row]
) -> None:
    await conn.copy_records_to_table(table, records=rows, columns=list(columns))


async def check(url: str, n: int, runs: bool) -> dict[str, Any]:
    conn = await asyncpg.connect(url)
    try:
        wanted = {
            "emails sent": n,
            "tasks sent": n,
            "clients contacted": n,
            "activities": 2 * n,
            "inbox": 2 * n,
            "runs active": n if runs else 0,
        }
        got = {
            "emails sent": await conn.fetchval(
                "SELECT count(*) FROM emails WHERE status = 'sent' AND subject IS NOT NULL"
                " AND sent_at IS NOT NULL AND provider_message_id IS NOT NULL"
            ),
            "tasks sent": await conn.fetchval("SELECT count(*) FROM tasks WHERE status = 'sent'"),
            "clients contacted": await conn.fetchval(
                "SELECT count(*) FROM clients WHERE last_contacted_at IS NOT NULL"
            ),
            "activities": await conn.fetchval("SELECT count(*) FROM activities"),
            "inbox": await conn.fetchval("SELECT count(*) FROM inbox"),
            "runs active": await conn.fetchval(
                "SELECT count(*) FROM plan_runs WHERE status = 'active'"
            ),
        }
        return {"ok": got == wanted, "got": got, "wanted": wanted}
    finally:
        await conn.close()


async def until_emails(url: str, status: str, count: int) -> None:
    conn = await asyncpg.connect(url)
    try:
        query = "SELECT count(*) FROM emails WHERE status = $1"
        while True:  # polled: the app's consumers say nothing when they are done
            if await conn.fetchval(query, status) >= count:
                return
            await asyncio.sleep(0.25)
    finally:
        await conn.close()
