"""Helpers for the scheduler tests: scheduler processes, their status, the stored ticks."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from nats.aio.client import Client as NATS
from nats.js import JetStreamContext
from nats.js.errors import NotFoundError

from realtoros_contracts import Namespace, SchedulerTick, decode
from tests.support.processes import ServiceProcess

TICK_INTERVAL = 0.2
LEASE_TTL = 2.0


@dataclass(frozen=True)
class StoredTick:
    seq: int
    id: str
    subject: str
    published_at: datetime
    tick: SchedulerTick


async def stored_ticks(js: JetStreamContext, ns: Namespace) -> list[StoredTick]:
    """Every tick in the namespace's scheduler stream, in stream order, envelope-checked."""
    stream = ns.stream_name("scheduler")
    try:
        info = await js.stream_info(stream)
    except NotFoundError:
        return []
    ticks = []
    first, last = info.state.first_seq, info.state.last_seq
    for seq in range(first, last + 1) if last else ():
        try:
            msg = await js.get_msg(stream, seq)
        except NotFoundError:
            continue
        assert msg.subject is not None
        assert msg.data is not None
        envelope, tick = decode(SchedulerTick, msg.headers, msg.data)
        assert envelope.source == "realtoros/scheduler"
        assert (msg.headers or {}).get("Nats-Msg-Id") == envelope.id
        ticks.append(StoredTick(seq, envelope.id, msg.subject, envelope.time, tick))
    return ticks


async def status_of(proc: ServiceProcess) -> dict[str, Any] | None:
    try:
        async with httpx.AsyncClient(timeout=1.0) as client:
            response = await client.get(f"{proc.base_url}/status")
    except httpx.HTTPError:
        return None
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


Spawn = Callable[..., ServiceProcess]


@pytest.fixture
def spawn_scheduler(
    nats_url: str, namespace: Namespace, nats_client: NATS, run_dir: Path
) -> Iterator[Spawn]:
    """Start ``python -m realtoros_scheduler`` processes in this test's namespace (fast
    ticks, a short lease); all are stopped at the end of the test, before the namespace's
    streams are deleted."""
    started: list[ServiceProcess] = []

    def spawn(replica: str, **env: str) -> ServiceProcess:
        proc = ServiceProcess(
            "scheduler",
            {
                "NATS_URL": nats_url,
                "NATS_NAMESPACE": namespace.name,
                "TICK_INTERVAL_SECONDS": str(TICK_INTERVAL),
                "LEASE_TTL_SECONDS": str(LEASE_TTL),
                "REPLICA_ID": replica,
                **env,
            },
            run_dir,
            name=f"scheduler-{namespace.name}-{replica}",
        )
        started.append(proc.start())
        return proc

    yield spawn
    for proc in started:
        proc.stop(timeout=10)
