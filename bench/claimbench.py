"""The claim at scale: how long one batch of 500 takes with 10,000 and with 1,000,000 tasks
in the table. It runs the CRM's own ``claim_batch`` (imported from realtoros_crm.claims,
the function the tick handler calls) in a transaction that is rolled back, so every
repetition sees the same table; ``lock_due_tasks`` (the SELECT … FOR UPDATE SKIP LOCKED
alone) is timed the same way."""

from __future__ import annotations

import cProfile
import gc
import io
import pstats
import statistics
import time
from datetime import UTC, datetime
from typing import Any

import asyncpg
from sqlalchemy import text

from bench.procstat import tree_cpu_seconds
from bench.stack import Servers
from realtoros_contracts import Namespace
from realtoros_crm.claims.service import claim_batch, lock_due_tasks
from realtoros_crm.claims.taskdue import ClaimContext
from realtoros_crm.db import build_engine, build_sessions
from realtoros_crm.settings import normalise_database_url

BATCH = 500

SEED_SQL = """
INSERT INTO agents (id, email, password_hash, name)
VALUES ('00000000-0000-4000-8000-000000000001', 'claim@bench.example', 'x', 'Claim Bench');
INSERT INTO clients (id, agent_id, name, email)
SELECT ('00000000-0000-4000-9000-' || lpad(g::text, 12, '0'))::uuid,
       '00000000-0000-4000-8000-000000000001', 'Client ' || g, 'c' || g || '@example.com'
FROM generate_series(1, 1000) g;
INSERT INTO tasks (id, agent_id, client_id, purpose, due_at, status)
SELECT gen_random_uuid(), '00000000-0000-4000-8000-000000000001',
       ('00000000-0000-4000-9000-' || lpad((1 + g % 1000)::text, 12, '0'))::uuid,
       'Day ' || (g % 30),
       CASE WHEN g <= $1 THEN now() - (g || ' seconds')::interval
            WHEN g % 2 = 0 THEN now() - ((g % 100000) || ' minutes')::interval
            ELSE now() + ((g % 100000) || ' minutes')::interval + interval '1 day' END,
       CASE WHEN g <= $1 THEN 'pending' WHEN g % 2 = 0 THEN 'sent' ELSE 'pending' END
FROM generate_series(1, $2) g;
"""


async def seed_table(url: str, rows: int, due: int) -> float:
    conn = await asyncpg.connect(url)
    try:
        started = time.monotonic()
        statements = [s for s in SEED_SQL.split(";\n") if s.strip()]
        await conn.execute(statements[0])
        await conn.execute(statements[1])
        await conn.execute(statements[2], due, rows)
        await conn.execute("VACUUM ANALYZE tasks")
        return time.monotonic() - started
    finally:
        await conn.close()


class GcClock:
    """Time spent in the garbage collector (gc.callbacks) while installed."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.collections = 0
        self._started = 0.0

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.seconds += time.perf_counter() - self._started
            self.collections += 1


async def time_claims(url: str, reps: int, profile: bool) -> dict[str, Any]:
    engine = build_engine(normalise_database_url(url))
    sessions = build_sessions(engine)
    ctx = ClaimContext(Namespace("bench"), "http://127.0.0.1:8000", b"k" * 32)
    full: list[float] = []
    lock_only: list[float] = []
    cpu: list[float] = []
    claimed = 0
    collector = GcClock()
    gc.callbacks.append(collector)
    profiler = cProfile.Profile() if profile else None
    try:
        for rep in range(reps + 1):  # the first warms the pool and the caches
            async with sessions() as session:
                tx = await session.begin()
                started = time.perf_counter()
                rows = await lock_due_tasks(session, now=datetime.now(UTC), limit=BATCH)
                locked = time.perf_counter() - started
                await tx.rollback()
            async with sessions() as session:
                tx = await session.begin()
                backend = await session.scalar(text("SELECT pg_backend_pid()"))
                if profiler and rep == reps:
                    profiler.enable()
                cpu0 = time.process_time() + tree_cpu_seconds(int(backend or 0))
                started = time.perf_counter()
                result = await claim_batch(session, now=datetime.now(UTC), limit=BATCH, ctx=ctx)
                took = time.perf_counter() - started
                cpu.append(
                    1000 * (time.process_time() + tree_cpu_seconds(int(backend or 0)) - cpu0)
                )
                if profiler and rep == reps:
                    profiler.disable()
                await tx.rollback()
            if rep:
                full.append(took * 1000)
                lock_only.append(locked * 1000)
                claimed = len(result.claimed)
                assert len(rows) == BATCH
    finally:
        gc.callbacks.remove(collector)
        await engine.dispose()
    out: dict[str, Any] = {
        "batch": BATCH,
        "claimed_per_batch": claimed,
        "claim_batch_ms_median": round(statistics.median(full), 1),
        "claim_batch_ms_max": round(max(full), 1),
        "claim_batch_cpu_ms_median": round(statistics.median(cpu[1:]), 1),
        "gc_seconds_during_all_repetitions": round(collector.seconds, 3),
        "gc_collections": collector.collections,
        "claim_batch_cpu_note": "this process's CPU + its PostgreSQL backend's, per batch",
        "lock_due_tasks_ms_median": round(statistics.median(lock_only), 2),
        "lock_due_tasks_ms_max": round(max(lock_only), 2),
        "repetitions": reps,
    }
    if profiler is not None:
        report = io.StringIO()
        pstats.Stats(profiler, stream=report).sort_stats("tottime").print_stats(15)
        out["profile_tottime_top15"] = _trim(report.getvalue())
    return out


def _trim(report: str) -> list[str]:
    lines = [line.rstrip() for line in report.splitlines() if line.strip()]
    start = next((i for i, line in enumerate(lines) if line.lstrip().startswith("ncalls")), 0)
    return lines[start : start + 16]


async def claims(srv: Servers, sizes: list[int], reps: int) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for rows in sizes:
        due = max(rows // 100, 2 * BATCH)
        url = await srv.create_database(f"claim_{rows}")
        seeded = await seed_table(url, rows, due)
        row = await time_claims(url, reps, profile=rows == max(sizes))
        row.update({"rows": rows, "due": due, "seed_seconds": round(seeded, 1)})
        results[str(rows)] = row
    return {"by_rows": results}
