"""The API benchmark without the rest of the loop: ``python -m bench.apionly [--seconds S]
[--clients N] [--edits N] [--explain] [--profile DIR]``.

Its own NATS and PostgreSQL, the CRM alone (the other services do not take part in the
API's requests), 100,000 clients for one agent, then every scenario of bench/apibench.py
with the CPU of the CRM and of PostgreSQL per request. ``--edits N`` changes N clients
through the API and measures the search again (a GIN index's pending list grows with
writes). ``--explain`` prints the plans of the list and search statements. Quicker to
iterate with than ``python -m bench --only api``, which runs the whole loop first.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import subprocess
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from sqlalchemy.dialects import postgresql

from bench import apibench, stack
from bench.procstat import CpuMeter
from bench.profiles import Recorder
from realtoros_crm.clients.listing import ClientFilter, list_statement
from tests.support.processes import REPO, ServiceProcess

EXPLAINED = {
    "list_first_page": "/clients?limit=50",
    "search": "/clients?limit=50&q=client4242",
    "search_phone": "/clients?limit=50&q=555-0142",
}


def measure(
    crm: ServiceProcess, pids: dict[str, int], token: str, paths: list[str], seconds: float
) -> dict[str, Any]:
    meter = CpuMeter(pids).start()
    row = apibench.load(crm.base_url, token, paths, seconds)
    cpu = meter.delta()
    done = max(1, row["requests"])
    row["cpu_ms_per_request"] = {name: round(s * 1000 / (done + 0), 3) for name, s in cpu.items()}
    row["load_average"] = [round(x, 2) for x in os.getloadavg()]
    return row


def edit_clients(base_url: str, token: str, count: int) -> float:
    """``count`` PATCHes of random clients' addresses (as agents edit them)."""
    headers = {"authorization": f"Bearer {token}"}
    rng = random.Random(11)
    started = time.monotonic()
    with httpx.Client(base_url=base_url, headers=headers, timeout=30) as http:
        page = http.get("/clients?limit=500").json()
        ids = [c["id"] for c in page]
        for n in range(count):
            client_id = rng.choice(ids)
            address = f"{n} Harbour Road {rng.randrange(10**6)}"
            response = http.patch(f"/clients/{client_id}", json={"property_address": address})
            response.raise_for_status()
    return round(time.monotonic() - started, 1)


async def explain(db_url: str, agent_id: str) -> dict[str, str]:
    """EXPLAIN ANALYZE of the list's statement: the first page, a search, a phone search."""
    dialect = postgresql.dialect()  # type: ignore[no-untyped-call]
    conn = await asyncpg.connect(db_url)
    try:
        plans = {}
        for name, q in (("list", None), ("search", "client4242"), ("phone", "555-0142")):
            where = ClientFilter(q=q, order="desc")
            statement = list_statement(uuid.UUID(agent_id), where, limit=51, cursor=None)
            compiled = statement.compile(dialect=dialect, compile_kwargs={"literal_binds": True})
            rows = await conn.fetch(f"EXPLAIN (ANALYZE, BUFFERS) {compiled}")
            plans[name] = "\n".join(r[0] for r in rows)
        return plans
    finally:
        await conn.close()


def export(rev: str) -> tuple[str, str]:
    """``rev``'s libraries and services, exported into a temp dir: (commit, PYTHONPATH)."""
    sha = subprocess.run(
        ["git", "rev-parse", rev], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout.strip()
    root = Path(tempfile.mkdtemp(prefix=f"realtoros-apionly-{sha[:8]}-"))
    archive = subprocess.run(
        ["git", "archive", sha, "libs", "services"], cwd=REPO, capture_output=True, check=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(root)], input=archive, check=True)
    return sha, os.pathsep.join([*sorted(str(p) for p in root.glob("*/*/src")), str(REPO)])


def against(
    srv: stack.Servers,
    env: dict[str, str],
    log_dir: Path,
    crm: ServiceProcess,
    token: str,
    args: argparse.Namespace,
) -> dict[str, Any]:
    """The first page and the stage filter, on this tree's CRM and on one running
    ``args.against`` (same database, same JWT secret), in alternating blocks so that both
    see the same load from the rest of the machine: CPU per request of each."""
    sha, path = export(args.against)
    other = ServiceProcess("crm", {**env, "PYTHONPATH": path}, log_dir, name="crm-against")
    other.start().wait_ready(300)
    sides = {"tree": crm, sha[:8]: other}
    requests = dict.fromkeys(sides, 0)
    cpu_s = dict.fromkeys(sides, 0.0)
    p99s: dict[str, list[float]] = {name: [] for name in sides}
    paths = ["/clients?limit=50", "/clients?limit=50&stage=prospect"]
    try:
        for _ in range(args.rounds):
            for name, proc in sides.items():
                assert proc.proc is not None
                meter = CpuMeter({"crm": proc.proc.pid}).start()
                row = apibench.load(proc.base_url, token, paths, args.block_seconds)
                requests[name] += int(row["requests"])
                cpu_s[name] += meter.delta()["crm"]
                p99s[name].append(float(row["p99_ms"]))
    finally:
        other.stop()
    result: dict[str, Any] = {
        name: {
            "requests": requests[name],
            "crm_cpu_ms_per_request": round(cpu_s[name] * 1000 / max(1, requests[name]), 3),
            "p99_ms_per_block": p99s[name],
        }
        for name in sides
    }
    return result | {"rounds": args.rounds, "block_seconds": args.block_seconds, "paths": paths}


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    out: dict[str, Any] = {"load_average_at_start": [round(x, 2) for x in os.getloadavg()]}
    with stack.servers() as srv:
        url = await srv.create_database("crm")
        log_dir = srv.root / "logs"
        log_dir.mkdir()
        env = stack.service_env(srv, url, "http://127.0.0.1:9", "http://127.0.0.1:9")["crm"]
        crm = ServiceProcess("crm", env, log_dir).start()
        try:
            crm.wait_ready(300)
            token, agent_id = apibench.sign_up(crm.base_url)
            await apibench.seed_clients(url, agent_id, args.clients)
            assert crm.proc is not None
            pids = {"crm": crm.proc.pid, "postgres": srv.pids["postgres"]}
            params = apibench.list_parameters(crm.base_url)
            kinds = apibench.scenarios(params, args.clients)
            # A word most clients have ("elm": every seeded address): the search's worst case.
            kinds["search_common_word"] = ["/clients?limit=50&q=elm"]
            if args.skip_scenarios:
                kinds = {}
            results = {k: measure(crm, pids, token, v, args.seconds) for k, v in kinds.items()}
            if args.edits and kinds:
                out["edit_seconds"] = edit_clients(crm.base_url, token, args.edits)
                results["search_after_edits"] = measure(
                    crm, pids, token, kinds["search"], args.seconds
                )
            out["results"] = results
            if args.explain:
                out["plans"] = await explain(url, agent_id)
            if args.against:
                out["against"] = against(srv, env, log_dir, crm, token, args)
            if args.profile:
                recorder = Recorder({"crm": crm.proc.pid}, args.profile, "apionly")
                apibench.load(crm.base_url, token, kinds["list_first_page"], args.seconds)
                out["profiles"] = recorder.stop()
        finally:
            crm.stop()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.apionly", description=__doc__)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--clients", type=int, default=100_000)
    parser.add_argument("--edits", type=int, default=0)
    parser.add_argument("--explain", action="store_true")
    parser.add_argument("--profile", type=Path, default=None)
    parser.add_argument(
        "--against", default=None, help="a git revision whose CRM serves the same pages, in turns"
    )
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--block-seconds", type=float, default=4.0)
    parser.add_argument("--skip-scenarios", action="store_true")
    args = parser.parse_args()
    result = asyncio.run(main_async(args))
    plans = result.pop("plans", {})
    print(json.dumps(result, indent=2, default=str))
    for name, plan in plans.items():
        print(f"--- {name}\n{plan}")


if __name__ == "__main__":
    main()
