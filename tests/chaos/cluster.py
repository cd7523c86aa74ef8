"""The services of a chaos run as OS processes, several replicas of each, and the faults
done to them: SIGKILL and restart a replica, restart NATS or PostgreSQL."""

from __future__ import annotations

import asyncio
import functools
import json
import random
import secrets
import signal
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import nats

from realtoros_contracts import Namespace
from tests.chaos.conftest import ChaosServers, create_database
from tests.support.moto_ses import MotoSes
from tests.support.processes import ServiceProcess
from tests.support.waiting import eventually

SENDER = "notifications@mail.realtoros.test"
TICK_SECONDS = 0.5
LEASE_TTL = 3.0
KINDS = ("crm", "scheduler", "composer", "mailer")
MAILER_WORKERS = 1
"""Sends one mailer has in flight at most: the most a SIGKILL can leave ambiguous. One,
so that the run checks issue 7's bound as stated (unknown <= mailer kills); with the
default of 8 the same mechanism allows 8 per kill, and nothing else may add any."""


@dataclass
class Cluster:
    servers: ChaosServers
    ns: Namespace
    procs: dict[str, ServiceProcess]
    kills: Counter[str] = field(default_factory=Counter)
    terms: Counter[str] = field(default_factory=Counter)
    events: list[str] = field(default_factory=list)
    failovers: list[float] = field(default_factory=list)
    generation: Counter[str] = field(default_factory=Counter)
    started: float = field(default_factory=time.monotonic)

    def of_kind(self, kind: str) -> list[ServiceProcess]:
        return [p for p in self.procs.values() if p.service == kind]

    def note(self, what: str) -> None:
        line = f"{time.monotonic() - self.started:7.1f}s {what}"
        self.events.append(line)
        print(f"chaos: {line}", flush=True)

    def start(self, proc: ServiceProcess) -> None:
        if proc.service == "scheduler":
            # A fresh replica id per start: a tick names the process that published it.
            self.generation[proc.name] += 1
            proc.env["REPLICA_ID"] = f"{proc.name}.{self.generation[proc.name]}"
        proc.start()

    def start_all(self, timeout: float = 300.0) -> None:
        for proc in self.procs.values():
            self.start(proc)
        for proc in self.procs.values():
            proc.wait_ready(timeout)
        self.started = time.monotonic()

    def stop_all(self) -> None:
        for proc in self.procs.values():
            proc.stop(timeout=15)

    async def wait_all_ready(self, timeout: float = 300.0) -> None:
        for proc in self.procs.values():
            await asyncio.to_thread(proc.wait_ready, timeout)

    def logs(self, limit: int = 2500) -> str:
        return "\n".join(f"--- {n}\n{p.logs()[-limit:]}" for n, p in self.procs.items())

    # --- faults --------------------------------------------------------------------------
    async def kill_and_restart(self, rng: random.Random, kind: str) -> None:
        if kind == "scheduler":
            await self.kill_leader_and_time_failover()
            return
        proc = rng.choice(self.of_kind(kind))
        proc.kill()
        self.kills[kind] += 1
        self.note(f"SIGKILL {proc.name}; restarted")
        self.start(proc)

    async def stop_and_restart(self, rng: random.Random, kind: str) -> None:
        """SIGTERM a replica: in-flight handlers finish or are nacked (graceful shutdown)."""
        proc = rng.choice(self.of_kind(kind))
        # Up and serving first: a process still importing has no handlers in flight, and
        # dies of the signal before its server installs the shutdown handler.
        await asyncio.to_thread(proc.wait_ready, 300.0)
        code = await asyncio.to_thread(proc.stop, signal.SIGTERM, 60.0)
        self.terms[kind] += 1
        # uvicorn re-raises SIGTERM once its shutdown is done, hence an exit of -15.
        graceful = "Application shutdown complete" in proc.logs()[-4000:]
        how = "shut down gracefully" if graceful else "DID NOT shut down gracefully"
        self.note(f"SIGTERM {proc.name} ({how}, exit {code}); restarted")
        assert graceful, f"{proc.name} did not finish its shutdown:\n{proc.logs()[-3000:]}"
        self.start(proc)

    async def kill_leader_and_time_failover(self) -> None:
        """SIGKILL the leading scheduler and time the first tick of another replica."""
        for standby in self.of_kind("scheduler"):  # a standby still starting cannot take over
            await asyncio.to_thread(standby.wait_ready, 300.0)
        leader = await self._leader()
        killed_id = leader.env["REPLICA_ID"]
        nc = await nats.connect(self.servers.nats.url)
        try:
            ticks: asyncio.Queue[str] = asyncio.Queue()

            async def on_tick(msg: Any) -> None:
                await ticks.put(json.loads(msg.data).get("leader", ""))

            await nc.subscribe(self.ns.all_ticks(), cb=on_tick)
            await nc.flush()
            killed_at = time.monotonic()
            leader.kill()
            self.kills["scheduler"] += 1
            deadline = killed_at + LEASE_TTL * 4 + 10
            publisher = ""
            while publisher in (killed_id, ""):
                publisher = await asyncio.wait_for(ticks.get(), deadline - time.monotonic())
            failover = time.monotonic() - killed_at
        finally:
            await nc.close()
        self.failovers.append(failover)
        self.note(f"SIGKILL leader {killed_id}; {publisher} ticked after {failover:.2f}s")
        self.start(leader)

    async def _leader(self) -> ServiceProcess:
        async def probe() -> ServiceProcess | None:
            async with httpx.AsyncClient(timeout=3) as http:
                for proc in self.of_kind("scheduler"):
                    try:
                        status = (await http.get(f"{proc.base_url}/status")).json()
                    except (httpx.HTTPError, ValueError):
                        continue
                    if status.get("leader"):
                        return proc
            return None

        return await eventually(probe, timeout=60, interval=0.2, what="a leading scheduler")

    async def restart_nats(self) -> None:
        ready = await self._ready_now(list(self.procs.values()))
        self.servers.nats.kill()
        self.note(f"NATS killed ({len(ready)} replicas up to watch /readyz)")
        try:
            await self._all_report(503, ready, "NATS down")
        finally:
            self.servers.nats.start()
        self.note("NATS restarted (same port and store)")

    async def restart_postgres(self, outage: float = 0.0) -> None:
        """Kill PostgreSQL, keep it down ``outage`` seconds (at least until every ready CRM
        replica says so), start it again."""
        ready = await self._ready_now(self.of_kind("crm"))
        self.servers.postgres.kill()
        killed = time.monotonic()
        self.note(f"PostgreSQL killed ({len(ready)} CRM replicas up to watch /readyz)")
        try:
            await self._all_report(503, ready, "PostgreSQL down")
            # A timed outage (fault injection, not synchronisation).
            await asyncio.sleep(max(0.0, outage - (time.monotonic() - killed)))
        finally:
            await asyncio.to_thread(self.servers.postgres.start)
        self.note(f"PostgreSQL restarted after {time.monotonic() - killed:.0f}s (same port, data)")

    async def _ready_now(self, procs: list[ServiceProcess]) -> list[ServiceProcess]:
        """The replicas up and ready now (one still starting would not answer at all)."""
        async with httpx.AsyncClient(timeout=6) as http:
            return [p for p in procs if await _ready_is(http, p.base_url, 200)]

    async def _all_report(self, status: int, procs: list[ServiceProcess], why: str) -> None:
        """Every replica that is up answers /readyz with ``status`` (it tells the truth)."""
        async with httpx.AsyncClient(timeout=6) as http:
            for proc in procs:
                ok: bool = await eventually(
                    functools.partial(_ready_is, http, proc.base_url, status),
                    timeout=45,
                    interval=0.2,
                    what=f"{proc.name} /readyz {status} ({why})",
                )
                assert ok


async def _ready_is(http: httpx.AsyncClient, url: str, status: int) -> bool | None:
    try:
        answer = await http.get(f"{url}/readyz")
    except httpx.HTTPError:
        return None  # restarting: not up yet
    return answer.status_code == status or None


def build_cluster(
    servers: ChaosServers,
    ns: Namespace,
    *,
    database_url: str,
    llm_url: str,
    ses: MotoSes,
    log_dir: Path,
    replicas: int = 2,
    nats_env: dict[str, str] | None = None,
) -> Cluster:
    """Every service, ``replicas`` of each; ``nats_env`` overrides the NATS settings (a
    cluster's URLs and replica count)."""
    common = {"NATS_URL": servers.nats.url, "NATS_NAMESPACE": ns.name, "LOG_LEVEL": "INFO"}
    common.update(nats_env or {})
    jwt = secrets.token_hex(32)
    env = {
        "crm": {**common, "DATABASE_URL": database_url, "JWT_SECRET": jwt},
        "scheduler": {
            **common,
            "TICK_INTERVAL_SECONDS": str(TICK_SECONDS),
            "LEASE_TTL_SECONDS": str(LEASE_TTL),
        },
        "composer": {
            **common,
            "OPENAI_API_KEY": "test-key",
            "OPENAI_BASE_URL": llm_url,
            "LLM_MAX_CONCURRENCY": "16",
        },
        "mailer": {
            **common,
            **ses.mailer_env(SENDER),
            "MAIL_MAX_WORKERS": str(MAILER_WORKERS),
        },
    }
    procs = {
        f"{kind}-{n}": ServiceProcess(kind, env[kind], log_dir, name=f"{kind}-{n}")
        for kind in KINDS
        for n in range(1, replicas + 1)
    }
    return Cluster(servers, ns, procs)


@contextmanager
def running_cluster(
    servers: ChaosServers,
    llm_url: str,
    prefix: str,
    *,
    replicas: int = 2,
    stream_replicas: int = 1,
    nats_env: dict[str, str] | None = None,
) -> Iterator[tuple[Cluster, MotoSes, str]]:
    """A cluster on its own namespace (its streams kept on ``stream_replicas`` servers) and
    database, with the SES fake, started; and the database's URL."""
    ns = Namespace(f"{prefix}{uuid.uuid4().hex[:8]}", replicas=stream_replicas)
    database_url = create_database(servers, f"{prefix}_{ns.name}")
    log_dir = servers.root / ns.name
    log_dir.mkdir()
    with MotoSes() as ses:
        ses.verify_sender(SENDER)
        built = build_cluster(
            servers,
            ns,
            database_url=database_url,
            llm_url=llm_url,
            ses=ses,
            log_dir=log_dir,
            replicas=replicas,
            nats_env=nats_env,
        )
        try:
            # Every replica at once: while the cluster creates their durables (a Raft group
            # each) the services wait for JetStream with backoff (jetstream_ready).
            built.start_all()
            yield built, ses, database_url
        finally:
            built.stop_all()
            print(f"chaos: service logs in {log_dir}")
