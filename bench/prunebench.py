"""Old bookkeeping rows and the hot paths: do millions of published outbox rows and old
inbox rows slow the relay's pick of unpublished rows, or a consumer's inbox insert? And
how fast does the pruner delete them? (The answer decides deletion over partitioning:
docs/capacity.md, services/crm/src/realtoros_crm/messaging/pruning.py.)

``python -m bench.prunebench --rows 5000000`` on servers of its own; prints one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from bench.stack import Servers, servers
from realtoros_crm.db import build_engine, build_sessions
from realtoros_crm.messaging.pruning import INBOX_HORIZON, Pruner
from realtoros_crm.settings import normalise_database_url

NOW = datetime.now(UTC)
FILL = """
INSERT INTO outbox (event_id, subject, stream, event_type, body, headers, created_at,
                    published_at)
SELECT 'old-' || n, 'realtoros.crm.task.due', 'REALTOROS_CRM', 'task.due.v1',
       convert_to(repeat('x', 1500), 'UTF8'), '{"ce-id": "x"}', $1, $1
FROM generate_series(1, $2) n
"""
FILL_INBOX = """
INSERT INTO inbox (consumer, event_id, processed_at)
SELECT 'crm-email-sent', 'old-' || n, $1 FROM generate_series(1, $2) n
"""
RELAY = (
    "SELECT id FROM outbox WHERE published_at IS NULL ORDER BY id LIMIT 500 FOR UPDATE SKIP LOCKED"
)
INBOX = (
    "INSERT INTO inbox (consumer, event_id, processed_at) SELECT 'crm-email-sent', "
    "'new-' || $1::text || '-' || n, now() FROM generate_series(1, 500) n "
    "ON CONFLICT (consumer, event_id) DO NOTHING"
)
UNPUBLISHED = """
INSERT INTO outbox (event_id, subject, stream, event_type, body, headers, created_at)
SELECT 'new-' || n, 's', 'S', 't', 'x', '{}', now() FROM generate_series(1, 500) n
"""


async def timings(conn: asyncpg.Connection, reps: int) -> dict[str, float]:
    relay, inbox = [], []
    for _ in range(reps):
        async with conn.transaction():
            started = time.perf_counter()
            await conn.fetch(RELAY)
            relay.append(time.perf_counter() - started)
        started = time.perf_counter()
        await conn.execute(INBOX, uuid.uuid4().hex)
        inbox.append(time.perf_counter() - started)
    return {
        "relay_pick_ms": round(statistics.median(relay) * 1000, 2),
        "inbox_insert_500_ms": round(statistics.median(inbox) * 1000, 2),
    }


async def run(srv: Servers, rows: int, reps: int) -> dict[str, Any]:
    url = await srv.create_database("prune")
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(UNPUBLISHED)
        await conn.execute("ANALYZE")
        fresh = await timings(conn, reps)
        old = NOW - INBOX_HORIZON - timedelta(days=1)
        started = time.perf_counter()
        await conn.execute(FILL, old, rows)
        await conn.execute(FILL_INBOX, old, rows)
        await conn.execute("ANALYZE")
        filled = time.perf_counter() - started
        sizes = await conn.fetchrow(
            "SELECT pg_total_relation_size('outbox') AS outbox, "
            "pg_total_relation_size('inbox') AS inbox"
        )
        with_old = await timings(conn, reps)
    finally:
        await conn.close()
    engine = build_engine(normalise_database_url(url))
    started = time.perf_counter()
    deleted = await Pruner(build_sessions(engine), lambda: NOW).prune()
    pruned = time.perf_counter() - started
    await engine.dispose()
    return {
        "old_rows_per_table": rows,
        "fill_seconds": round(filled, 1),
        "outbox_mb": round(sizes["outbox"] / 1e6),
        "inbox_mb": round(sizes["inbox"] / 1e6),
        "no_old_rows": fresh,
        "with_old_rows": with_old,
        "pruned": deleted,
        "prune_seconds": round(pruned, 1),
        "pruned_rows_per_second": round(2 * rows / pruned),
    }


def main() -> None:
    parser = argparse.ArgumentParser(prog="prunebench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=5_000_000)
    parser.add_argument("--reps", type=int, default=30)
    args = parser.parse_args()
    with servers() as srv:
        print(json.dumps(asyncio.run(run(srv, args.rows, args.reps))))


if __name__ == "__main__":
    main()
