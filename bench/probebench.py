"""The claim's "anything due?" probe (realtoros_crm.claims.probe), which every tick asks
before claiming: ``python -m bench.probebench [--rows N] [--reps N]``.

Its own PostgreSQL; the claim benchmark's table (bench/claimbench.py: half the rows sent
in the past, the other half pending in the future) with nothing due, then with one task
due. Prints the probe's wall time (median, p99) and this process's CPU per probe in both
cases, the same for what a tick did before the probe (a claim that finds nothing, in its
own transaction), and the probe's plan (an index-only scan of ``ix_tasks_due_email``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import time
from datetime import UTC, datetime
from typing import Any

import asyncpg

from bench import claimbench, stack
from realtoros_contracts import Namespace
from realtoros_crm.claims.probe import ANYTHING_DUE, anything_due
from realtoros_crm.claims.service import claim_batch
from realtoros_crm.claims.taskdue import ClaimContext
from realtoros_crm.db import build_engine, build_sessions
from realtoros_crm.settings import normalise_database_url


async def time_probe(url: str, reps: int, *, claim: bool = False) -> dict[str, Any]:
    """The probe ``reps`` times; ``claim``: instead, what a tick did before the probe (a
    claim in its own transaction, which finds nothing when nothing is due)."""
    engine = build_engine(normalise_database_url(url))
    sessions = build_sessions(engine)
    ctx = ClaimContext(Namespace("bench"), "http://127.0.0.1:8000", b"k" * 32)
    try:
        answers, times = set(), []
        cpu0 = time.process_time()
        for _ in range(reps):
            started = time.perf_counter()
            if claim:
                async with sessions() as session, session.begin():
                    result = await claim_batch(session, now=datetime.now(UTC), limit=500, ctx=ctx)
                answers.add(result.selected > 0)
            else:
                answers.add(await anything_due(sessions, datetime.now(UTC)))
            times.append((time.perf_counter() - started) * 1000)
        cpu_ms = (time.process_time() - cpu0) * 1000 / reps
        times.sort()
        return {
            "answers": sorted(answers),
            "median_ms": round(statistics.median(times), 3),
            "p99_ms": round(times[min(len(times) - 1, int(0.99 * len(times)))], 3),
            "python_cpu_ms": round(cpu_ms, 3),
        }
    finally:
        await engine.dispose()


async def main_async(rows: int, reps: int) -> dict[str, Any]:
    out: dict[str, Any] = {"load_average_at_start": [round(x, 2) for x in os.getloadavg()]}
    with stack.servers() as srv:
        url = await srv.create_database("probe")
        out["seed_seconds"] = round(await claimbench.seed_table(url, rows, 0), 1)
        conn = await asyncpg.connect(url)
        try:
            plan = await conn.fetch(f"EXPLAIN (ANALYZE, BUFFERS) {ANYTHING_DUE}", datetime.now(UTC))
            out["plan_nothing_due"] = [r[0] for r in plan]
            out["nothing_due"] = await time_probe(url, reps)
            out["nothing_due_claim_as_before"] = await time_probe(url, reps, claim=True)
            await conn.execute(
                "UPDATE tasks SET due_at = now() - interval '1 minute' WHERE id = "
                "(SELECT id FROM tasks WHERE status = 'pending' LIMIT 1)"
            )
            out["one_due"] = await time_probe(url, reps)
        finally:
            await conn.close()
    out["rows"] = rows
    out["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.probebench", description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--reps", type=int, default=1000)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(main_async(args.rows, args.reps)), indent=2))


if __name__ == "__main__":
    main()
