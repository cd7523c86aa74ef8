"""Rows straight into the CRM's database (COPY): agents, clients and follow-up tasks.

Agents get a sending window of every day, all day, so the wall clock of the run never
holds a follow-up back, and a signature and a postal address, without which nothing is
sent automatically.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, time

import asyncpg

ALL_DAY_END = time(23, 59, 59, 999999)


async def window_columns(conn: asyncpg.Connection) -> bool:
    found = await conn.fetchval(
        "SELECT count(*) FROM information_schema.columns "
        "WHERE table_name = 'agents' AND column_name = 'sending_days'"
    )
    return bool(found)


async def open_all_day(conn: asyncpg.Connection) -> None:
    # Nothing goes out automatically for an agent without a signature and a postal address
    # (the mailer holds it for the agent): the benchmark's agents have both.
    await conn.execute(
        "UPDATE agents SET signature = coalesce(signature, name), "
        "postal_address = coalesce(postal_address, '1 Bench Way, Springfield')"
    )
    if await window_columns(conn):
        await conn.execute(
            "UPDATE agents SET sending_days = '{1,2,3,4,5,6,7}', sending_start = '00:00', "
            "sending_end = $1",
            ALL_DAY_END,
        )


async def agents(conn: asyncpg.Connection, count: int, tag: str) -> list[uuid.UUID]:
    ids = [uuid.uuid4() for _ in range(count)]
    rows = [
        (i, f"agent{n}-{tag}@bench.example", "not-a-hash", f"Agent {n}", "Harbor Realty")
        for n, i in enumerate(ids)
    ]
    await conn.copy_records_to_table(
        "agents",
        records=rows,
        columns=["id", "email", "password_hash", "name", "brokerage"],
    )
    await open_all_day(conn)
    return ids


async def clients(
    conn: asyncpg.Connection, agent_ids: Sequence[uuid.UUID], count: int, tag: str
) -> list[tuple[uuid.UUID, uuid.UUID]]:
    """``count`` clients spread over the agents: (client id, agent id) pairs."""
    pairs = [(uuid.uuid4(), agent_ids[n % len(agent_ids)]) for n in range(count)]
    stages = ("lead", "prospect", "negotiating", "under_contract")
    rows = [
        (
            cid,
            aid,
            f"Client{n} {tag.title()}",
            f"client{n}-{tag}@example.com",
            f"{n} Elm St",
            stages[n % len(stages)] if n % 3 == 0 else "lead",
        )
        for n, (cid, aid) in enumerate(pairs)
    ]
    await conn.copy_records_to_table(
        "clients",
        records=rows,
        columns=["id", "agent_id", "name", "email", "property_address", "stage"],
    )
    return pairs


async def tasks(
    conn: asyncpg.Connection,
    pairs: Sequence[tuple[uuid.UUID, uuid.UUID]],
    due: Sequence[datetime],
    purpose: str,
) -> None:
    """One task per due time, client i for task i (one follow-up per client)."""
    rows = [
        (uuid.uuid4(), pairs[n % len(pairs)][1], pairs[n % len(pairs)][0], purpose, at)
        for n, at in enumerate(due)
    ]
    await conn.copy_records_to_table(
        "tasks", records=rows, columns=["id", "agent_id", "client_id", "purpose", "due_at"]
    )
