"""The follow-up loop under load: throughput, steady-rate latency, the LLM-bound composer.

Tasks go straight into the CRM's database; "sent" is when the CRM recorded the EmailSent
(the email row's ``updated_at`` as it turned ``sent``), read from the same database.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from bench import seed
from bench.procstat import CpuMeter, rss_mb
from bench.profiles import Recorder
from bench.stack import Loop, Servers, start_fake


@dataclass
class View:
    """The processes of the system under test: theirs (CPU counted with the servers') and
    the fakes' (counted apart)."""

    services: dict[str, int]
    fakes: dict[str, int]

    @classmethod
    def of(cls, lp: Loop) -> View:
        return cls(lp.service_pids, lp.fake_pids)


FINAL = ("sent", "failed", "unknown", "skipped", "cancelled", "done")


def percentiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    if not ordered:
        return {}

    def at(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 3)

    return {"p50_s": at(0.5), "p95_s": at(0.95), "p99_s": at(0.99), "max_s": round(ordered[-1], 3)}


@dataclass
class Batch:
    purpose: str
    count: int


async def wait_final(conn: asyncpg.Connection, batch: Batch, timeout: float) -> dict[str, int]:
    deadline = time.monotonic() + timeout
    statuses: dict[str, int] = {}
    while time.monotonic() < deadline:
        rows = await conn.fetch(
            "SELECT status, count(*) AS n FROM tasks WHERE purpose = $1 GROUP BY status",
            batch.purpose,
        )
        statuses = {r["status"]: r["n"] for r in rows}
        if sum(n for s, n in statuses.items() if s in FINAL) >= batch.count:
            return statuses
        await asyncio.sleep(0.25)
    return statuses


async def latencies(conn: asyncpg.Connection, purpose: str) -> list[float]:
    rows = await conn.fetch(
        "SELECT extract(epoch FROM e.updated_at - t.due_at) AS s FROM tasks t "
        "JOIN emails e ON e.id = t.email_id WHERE t.purpose = $1 AND e.status = 'sent'",
        purpose,
    )
    return [float(r["s"]) for r in rows]


async def last_sent(conn: asyncpg.Connection, purpose: str) -> datetime | None:
    value: datetime | None = await conn.fetchval(
        "SELECT max(e.updated_at) FROM tasks t JOIN emails e ON e.id = t.email_id "
        "WHERE t.purpose = $1 AND e.status = 'sent'",
        purpose,
    )
    return value


async def prepare(conn: asyncpg.Connection, purpose: str, count: int, due: list[datetime]) -> Batch:
    agent_ids = await seed.agents(conn, 10, purpose)
    pairs = await seed.clients(conn, agent_ids, count, purpose)
    await seed.tasks(conn, pairs, due, purpose)
    return Batch(purpose, count)


def idle_rss(lp: Loop) -> dict[str, float]:
    return {name: round(rss_mb(pid), 1) for name, pid in lp.service_pids.items()}


async def warm_up(db_url: str, n: int = 20) -> dict[str, int]:
    """A few follow-ups end to end before any clock starts (pools, caches, consumers)."""
    purpose = f"warm-up-{int(time.time() * 1000)}"
    conn = await asyncpg.connect(db_url)
    try:
        batch = await prepare(conn, purpose, n, [datetime.now(UTC)] * n)
        return await wait_final(conn, batch, timeout=120)
    finally:
        await conn.close()


async def throughput(
    srv: Servers, lp: Loop, db_url: str, n: int, *, profile_dir: Path | None = None
) -> dict[str, Any]:
    return await throughput_of(srv, View.of(lp), db_url, n, profile_dir=profile_dir)


async def throughput_of(
    srv: Servers, view: View, db_url: str, n: int, *, profile_dir: Path | None = None
) -> dict[str, Any]:
    """``n`` follow-ups made due at one instant; rate from that instant to the last sent."""
    purpose = f"throughput-{n}-{int(time.time())}"
    conn = await asyncpg.connect(db_url)
    try:
        later = datetime.now(UTC) + timedelta(days=1)
        batch = await prepare(conn, purpose, n, [later] * n)
        await conn.execute("ANALYZE")
        system = CpuMeter({**view.services, **srv.pids}).start()
        fakes = CpuMeter(view.fakes).start()
        recorder = Recorder(view.services, profile_dir, purpose) if profile_dir else None
        t0: datetime = await conn.fetchval(
            "UPDATE tasks SET due_at = clock_timestamp() WHERE purpose = $1 "
            "RETURNING clock_timestamp()",
            purpose,
        )
        wall = time.monotonic()
        statuses = await wait_final(conn, batch, timeout=max(180.0, n / 20))
        wall = time.monotonic() - wall
        cpu, fake_cpu = system.delta(), fakes.delta()
        profiles = recorder.stop() if recorder else {}
        end = await last_sent(conn, purpose)
        lat = await latencies(conn, purpose)
    finally:
        await conn.close()
    sent = statuses.get("sent", 0)
    seconds = (end - t0).total_seconds() if end else float("nan")
    total_cpu = sum(cpu.values())
    return {
        "n": n,
        "statuses": statuses,
        "seconds_due_to_last_sent": round(seconds, 2),
        "follow_ups_per_second": round(sent / seconds, 1) if sent else 0.0,
        "cpu_seconds": cpu,
        "cpu_ms_per_follow_up": round(1000 * total_cpu / max(sent, 1), 2),
        "cpu_ms_per_follow_up_by_process": {
            k: round(1000 * v / max(sent, 1), 2) for k, v in cpu.items()
        },
        "fakes_cpu_seconds": fake_cpu,
        "latency_due_to_sent": percentiles(lat),
        "wall_seconds_polled": round(wall, 1),
        "profiled": bool(profile_dir),
        "profiles": profiles,
    }


async def latency(
    srv: Servers, lp: Loop, db_url: str, rate: float, duration: float
) -> dict[str, Any]:
    return await latency_of(srv, View.of(lp), db_url, rate, duration)


async def latency_of(
    srv: Servers, view: View, db_url: str, rate: float, duration: float
) -> dict[str, Any]:
    """``rate`` follow-ups per second falling due evenly for ``duration`` seconds."""
    n = int(rate * duration)
    purpose = f"latency-{int(rate)}x{int(duration)}-{int(time.time())}"
    conn = await asyncpg.connect(db_url)
    try:
        start = datetime.now(UTC) + timedelta(seconds=5 + n / 5000)
        due = [start + timedelta(seconds=i / rate) for i in range(n)]
        batch = await prepare(conn, purpose, n, due)
        await conn.execute("ANALYZE")
        system = CpuMeter({**view.services, **srv.pids}).start()
        statuses = await wait_final(conn, batch, timeout=duration + 180)
        cpu = system.delta()
        lat = await latencies(conn, purpose)
    finally:
        await conn.close()
    sent = statuses.get("sent", 0)
    return {
        "rate_per_second": rate,
        "duration_s": duration,
        "n": n,
        "statuses": statuses,
        "latency_due_to_sent": percentiles(lat),
        "cpu_ms_per_follow_up": round(1000 * sum(cpu.values()) / max(sent, 1), 2),
    }


async def llm_bound(
    srv: Servers, lp: Loop, db_url: str, n: int, latency_s: float, concurrency: int | None
) -> dict[str, Any]:
    """One composer against an LLM that takes ``latency_s`` per answer."""
    slow = start_fake("fake_llm_slow", "bench.fake_llm", "--no-record", "--latency", str(latency_s))
    env = {"OPENAI_BASE_URL": slow.url}
    if concurrency is not None:
        env["LLM_MAX_CONCURRENCY"] = str(concurrency)
    stats_url = slow.url.removesuffix("/v1") + "/_stats"
    purpose = f"llm-{n}-{concurrency or 'default'}-{int(time.time())}"
    conn = await asyncpg.connect(db_url)
    try:
        lp.restart("composer", env)
        later = datetime.now(UTC) + timedelta(days=1)
        batch = await prepare(conn, purpose, n, [later] * n)
        t0: datetime = await conn.fetchval(
            "UPDATE tasks SET due_at = clock_timestamp() WHERE purpose = $1 "
            "RETURNING clock_timestamp()",
            purpose,
        )
        peak = 0
        samples: list[int] = []
        done = asyncio.Event()

        async def sample() -> None:
            nonlocal peak
            async with httpx.AsyncClient(timeout=5) as http:
                while not done.is_set():
                    stats = (await http.get(stats_url)).json()
                    samples.append(int(stats["in_flight"]))
                    peak = max(peak, int(stats["max_in_flight"]))
                    await asyncio.sleep(0.2)

        sampler = asyncio.create_task(sample())
        statuses = await wait_final(conn, batch, timeout=max(300.0, 3 * n * latency_s / 50))
        done.set()
        await sampler
        end = await last_sent(conn, purpose)
    finally:
        await conn.close()
        slow.stop()
        lp.restart("composer", {"OPENAI_BASE_URL": lp.llm.url, "LLM_MAX_CONCURRENCY": "64"})
    sent = statuses.get("sent", 0)
    seconds = (end - t0).total_seconds() if end else float("nan")
    busy = sorted(samples)
    return {
        "n": n,
        "llm_latency_s": latency_s,
        "llm_max_concurrency": concurrency or "default",
        "statuses": statuses,
        "emails_per_second": round(sent / seconds, 1) if sent else 0.0,
        "max_in_flight": peak,
        "median_in_flight_sampled": busy[len(busy) // 2] if busy else 0,
    }
