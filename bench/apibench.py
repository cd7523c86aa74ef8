"""The agents' API under load: 100,000 clients for one agent, pages of GET /clients at 32
connections, from a load generator in its own process (bench.api_client)."""

from __future__ import annotations

import json
import random
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from bench import seed
from bench.processes import REPO
from bench.procstat import CpuMeter
from bench.profiles import Recorder
from bench.stack import Loop

AGENT = {
    "email": "api-bench@harbor.example",
    "password": "correct horse battery staple",
    "name": "Api Bench",
    "brokerage": "Harbor Realty",
}


def sign_up(base_url: str) -> tuple[str, str]:
    with httpx.Client(base_url=base_url, timeout=30) as http:
        http.post("/auth/register", json=AGENT)
        login = http.post("/auth/login", json={k: AGENT[k] for k in ("email", "password")})
        login.raise_for_status()
        token = str(login.json()["access_token"])
        me = http.get("/me", headers={"authorization": f"Bearer {token}"})
        me.raise_for_status()
        return token, str(me.json()["id"])


def list_parameters(base_url: str) -> list[str]:
    """The query parameters GET /clients takes in the running CRM (its OpenAPI)."""
    spec = httpx.get(f"{base_url}/openapi.json", timeout=30).json()
    operation = spec.get("paths", {}).get("/clients", {}).get("get", {})
    return [p["name"] for p in operation.get("parameters", []) if p.get("in") == "query"]


def scenarios(params: list[str], clients: int) -> dict[str, list[str]]:
    rng = random.Random(7)
    kinds: dict[str, list[str]] = {"list_first_page": ["/clients?limit=50"]}
    if "offset" in params:
        kinds["list_random_page"] = [
            f"/clients?limit=50&offset={rng.randrange(0, clients - 50)}" for _ in range(200)
        ]
    for name in ("q", "search", "query"):
        if name in params:
            kinds["search"] = [
                f"/clients?limit=50&{name}=client{rng.randrange(clients)}" for _ in range(200)
            ]
            break
    if "stage" in params:
        kinds["filter_stage"] = [
            f"/clients?limit=50&stage={s}" for s in ("lead", "prospect", "negotiating")
        ]
    return kinds


async def seed_clients(db_url: str, agent_id: str, count: int) -> None:
    conn = await asyncpg.connect(db_url)
    try:
        import uuid

        existing = await conn.fetchval(
            "SELECT count(*) FROM clients WHERE agent_id = $1", uuid.UUID(agent_id)
        )
        if existing < count:
            await seed.clients(conn, [uuid.UUID(agent_id)], count - existing, "api")
        await conn.execute("ANALYZE clients")
    finally:
        await conn.close()


def load(base_url: str, token: str, paths: list[str], duration: float) -> dict[str, Any]:
    args = [
        sys.executable,
        "-m",
        "bench.api_client",
        "--base-url",
        base_url,
        "--token",
        token,
        "--concurrency",
        "32",
        "--duration",
        str(duration),
    ]
    for path in paths:
        args += ["--path", path]
    done = subprocess.run(args, cwd=REPO, capture_output=True, text=True, timeout=duration + 120)
    if done.returncode != 0:
        raise RuntimeError(f"api_client failed: {done.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


async def api(
    lp: Loop, db_url: str, clients: int, duration: float, profile_dir: Path | None
) -> dict[str, Any]:
    crm = lp.services["crm"]
    token, agent_id = sign_up(crm.base_url)
    started = time.monotonic()
    await seed_clients(db_url, agent_id, clients)
    seeded_s = round(time.monotonic() - started, 1)
    params = list_parameters(crm.base_url)
    results: dict[str, Any] = {}
    for kind, paths in scenarios(params, clients).items():
        meter = CpuMeter({"crm": lp.service_pids["crm"]}).start()
        row = load(crm.base_url, token, paths, duration)
        row["crm_cpu_seconds"] = meter.delta()["crm"]
        results[kind] = row
    out: dict[str, Any] = {
        "clients": clients,
        "seed_seconds": seeded_s,
        "concurrency": 32,
        "list_query_parameters": params,
        "results": results,
    }
    if profile_dir is not None:
        recorder = Recorder({"crm": lp.service_pids["crm"]}, profile_dir, "api")
        load(crm.base_url, token, scenarios(params, clients)["list_first_page"], duration)
        out["profiles"] = recorder.stop()
    return out
