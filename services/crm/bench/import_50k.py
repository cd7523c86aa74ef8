"""A CSV import of ``--rows`` clients (default 50,000) through the CRM app as it runs,
follow-up plan stage hooks on, measured from the upload to the completed job.

    .venv/bin/python services/crm/bench/import_50k.py                  # 5-step default plan
    .venv/bin/python services/crm/bench/import_50k.py --plan none      # no plan is default
    .venv/bin/python services/crm/bench/import_50k.py --plan no-hooks  # stage hooks off

Starts an embedded PostgreSQL and NATS in a temp dir (``bench/stack.py``), builds the CRM
app in this process (``build_app``, lifespan and all: consumers, relay) and talks to it
through httpx's ASGI transport, as the tests do. With ``--plan default`` the agent makes
the standard plan (Day 1 … Month 1, five steps) its default first, so every imported
client gets a plan run and five tasks. Polls the job while it runs and prints how its
``processed`` count moved, then counts the rows written against the ones expected.
``--profile FILE`` writes a cProfile of the event loop's thread (``python -m pstats
FILE``). Run from the repository root.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import logging
import os
import resource
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx

REPO = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(REPO))

from bench import stack  # noqa: E402
from bench.machine import cpu_model, git_commit  # noqa: E402
from bench.procstat import tree_cpu_seconds  # noqa: E402

from realtoros_crm.app import build_app  # noqa: E402

STAGES = ("Lead",) * 7 + ("Prospect", "Negotiating", "Past Client")
"""Mostly new leads, as an agent's export is; a closed one gets no plan."""


def csv_file(rows: int) -> bytes:
    lines = ["First Name,Last Name,Email,Phone,Address,Stage,Tags,Source,Price Range"]
    for i in range(rows):
        stage = STAGES[i % len(STAGES)]
        lines.append(
            f"Client,{i},client{i}@example.com,(555) {i // 10000:03d}-{i % 10000:04d},"
            f'{i} Elm St,{stage},"buyer, 2026",Zillow,400-500k'
        )
    return ("\r\n".join(lines) + "\r\n").encode()


@dataclass
class Run:
    seconds: float = 0.0
    samples: list[tuple[float, int]] = field(default_factory=list)
    job: dict[str, Any] = field(default_factory=dict)
    cpu: dict[str, float] = field(default_factory=dict)
    rss_mb: dict[str, float] = field(default_factory=dict)


async def sign_up(http: httpx.AsyncClient) -> dict[str, str]:
    body = {"email": "bench@example.com", "password": "correct horse battery", "name": "Bench"}
    body["timezone"] = "America/New_York"
    assert (await http.post("/auth/register", json=body)).status_code == 201
    login = await http.post("/auth/login", json={k: body[k] for k in ("email", "password")})
    return {"Authorization": f"Bearer {login.json()['access_token']}"}


async def make_standard_plan_default(http: httpx.AsyncClient, headers: dict[str, str]) -> None:
    plans = (await http.get("/plans", headers=headers)).json()
    [standard] = [plan for plan in plans if plan["builtin"]]
    patched = await http.patch(
        f"/plans/{standard['id']}", json={"is_default": True}, headers=headers
    )
    assert patched.status_code == 200, patched.text


async def import_and_watch(
    http: httpx.AsyncClient, headers: dict[str, str], content: bytes, run: Run
) -> None:
    files = {"file": ("bench.csv", content, "text/csv")}
    started = time.monotonic()
    response = await http.post("/clients/import", files=files, headers=headers, timeout=600)
    assert response.status_code == 202, response.text
    while True:
        job = (await http.get(response.headers["Location"], headers=headers)).json()
        run.samples.append((time.monotonic() - started, job["processed"]))
        if job["status"] in ("completed", "failed"):
            break
        await asyncio.sleep(0.25)
    run.seconds = time.monotonic() - started
    run.job = job


async def written(url: str) -> dict[str, int]:
    conn = await asyncpg.connect(url)
    try:
        counts = {}
        for table in ("clients", "plan_runs", "tasks", "activities"):
            counts[table] = await conn.fetchval(f"SELECT count(*) FROM {table}")
        return counts
    finally:
        await conn.close()


async def bench(args: argparse.Namespace, srv: stack.Servers, run: Run) -> dict[str, int]:
    url = await srv.create_database("crm_import")
    settings = stack.in_process_crm_settings(url, srv.nats.url)
    app = build_app(settings)
    content = csv_file(args.rows)
    transport = httpx.ASGITransport(app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://crm.bench") as http,
    ):
        if args.plan == "no-hooks":
            app.state.crm.stage_hooks = []
        headers = await sign_up(http)
        if args.plan == "default":
            await make_standard_plan_default(http, headers)
        assert srv.postgres.proc is not None
        pg_before, me_before = tree_cpu_seconds(srv.postgres.proc.pid), time.process_time()
        run.rss_mb["before"] = rss_now()
        profiler = cProfile.Profile() if args.profile else None
        if profiler:
            profiler.enable()
        await import_and_watch(http, headers, content, run)
        if profiler:
            profiler.disable()
            profiler.dump_stats(args.profile)
        run.cpu = {
            "crm": time.process_time() - me_before,
            "postgres": tree_cpu_seconds(srv.postgres.proc.pid) - pg_before,
        }
        run.rss_mb["after"] = rss_now()
    run.rss_mb["peak"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return await written(url)


def rss_now() -> float:
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 1_048_576


def report(args: argparse.Namespace, run: Run, counts: dict[str, int], load: list[float]) -> None:
    job = run.job
    print(f"machine: {os.cpu_count()} cores ({cpu_model()}), commit {git_commit()}")
    print(f"load average before: {load}, after: {[round(x, 2) for x in os.getloadavg()]}")
    print(f"{args.rows} rows, plan: {args.plan}; job {job['status']} {job.get('error') or ''}")
    print(f"imported {job['imported']}, skipped {job['skipped']} in {run.seconds:.1f}s")
    print(f"rows/s: {args.rows / run.seconds:.0f}")
    moves = [(round(t, 1), n) for t, n in run.samples]
    distinct = sorted({n for _, n in run.samples})
    print(f"progress: {len(distinct)} distinct processed counts; {thin(moves)}")
    print(f"CPU: crm process {run.cpu['crm']:.1f}s, postgres {run.cpu['postgres']:.1f}s")
    rss = ", ".join(f"{name} {mb:.0f}" for name, mb in run.rss_mb.items())
    print(f"RSS of the crm process (MB): {rss}")
    print(f"rows: {counts}")
    wanted = expected(args)
    verdict = "as expected" if counts == wanted else f"NOT as expected: wanted {wanted}"
    print(f"rows check: {verdict}")


def expected(args: argparse.Namespace) -> dict[str, int]:
    """Every row a client; with the default plan, a run of 5 tasks for each client not
    closed (and a plan_started entry beside each client_created one)."""
    active = sum(1 for i in range(args.rows) if STAGES[i % len(STAGES)] != "Past Client")
    runs = active if args.plan == "default" else 0
    return {
        "clients": args.rows,
        "plan_runs": runs,
        "tasks": 5 * runs,
        "activities": args.rows + runs,
    }


def thin(samples: list[tuple[float, int]], keep: int = 12) -> list[tuple[float, int]]:
    step = max(1, len(samples) // keep)
    return samples[::step] + ([samples[-1]] if len(samples) % step != 1 else [])


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--plan", choices=("default", "none", "no-hooks"), default="default")
    parser.add_argument("--profile", type=Path, help="write a cProfile of the import here")
    return parser.parse_args()


def main() -> None:
    args = parse()
    logging.disable(logging.INFO)  # the app's and faststream's INFO lines
    load = [round(x, 2) for x in os.getloadavg()]
    run = Run()
    with stack.servers() as srv:
        counts = asyncio.run(bench(args, srv, run))
    report(args, run, counts, load)


if __name__ == "__main__":
    main()
