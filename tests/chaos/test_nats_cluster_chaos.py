"""Follow-ups on a three-server JetStream cluster (every stream and bucket at replicas 3)
while the servers die: SIGKILL the server leading the TaskDue stream, later a second
server (the quorum is lost for a while: JetStream stops taking writes), then restart
both. Nothing is lost, nothing is sent twice, one tick per slot (the scheduler's lease
held), and the services reconnect to the surviving servers by themselves (NATS_URL lists
all three).

Short form in the suite (one replica of each service, 30 follow-ups); the full form with
``CLUSTER_CHAOS_FOLLOW_UPS=300`` (two replicas each, a longer window and outage).
"""

from __future__ import annotations

import asyncio
import os
import random
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import nats
import pytest
from nats.aio.client import Client as NatsClient

from realtoros_devstack.nats_cluster import EmbeddedNatsCluster
from tests.chaos import test_follow_ups_under_chaos as chaos
from tests.chaos.checks import FINAL, task_outcomes, ticks_per_slot
from tests.chaos.cluster import Cluster, running_cluster
from tests.chaos.conftest import ChaosServers
from tests.support.moto_ses import MotoSes
from tests.support.waiting import eventually

FOLLOW_UPS = int(os.environ.get("CLUSTER_CHAOS_FOLLOW_UPS", "30"))
FULL = FOLLOW_UPS > 30
REPLICAS = 2 if FULL else 1
WINDOW = 60.0 if FULL else 24.0
QUORUM_LOST = 15.0 if FULL else 5.0
"""Seconds two of the three servers stay down."""

pytestmark = [pytest.mark.chaos, pytest.mark.timeout(900 + FOLLOW_UPS)]


@pytest.fixture(scope="module")
def nats_cluster(chaos_servers: ChaosServers) -> Iterator[EmbeddedNatsCluster]:
    cluster = EmbeddedNatsCluster(chaos_servers.root / "nats-cluster").start()
    try:
        asyncio.run(cluster.wait_until_formed())
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def services(
    chaos_servers: ChaosServers, chaos_llm: str, nats_cluster: EmbeddedNatsCluster
) -> Iterator[tuple[Cluster, MotoSes, str]]:
    nats_env = {
        "NATS_URL": nats_cluster.url,
        "JETSTREAM_REPLICAS": "3",
        "MAILER_ALLOW_RESERVED_DOMAINS": "true",  # the clients are at example.com
    }
    with running_cluster(
        chaos_servers, chaos_llm, "nc", replicas=REPLICAS, stream_replicas=3, nats_env=nats_env
    ) as running:
        yield running


async def stream_leader(nc: NatsClient, stream: str) -> str | None:
    try:
        info = await nc.jetstream(timeout=2).stream_info(stream)
    except Exception:  # no leader to answer (quorum lost, or an election under way)
        return None
    return info.cluster.leader if info.cluster and info.cluster.leader else None


async def wait_for_leader(nc: NatsClient, stream: str, not_on: str | None = None) -> float:
    started = time.monotonic()

    async def elected() -> str | None:
        leader = await stream_leader(nc, stream)
        return leader if leader and leader != not_on else None

    leader: str = await eventually(elected, timeout=120, interval=0.1, what=f"{stream}'s leader")
    assert leader
    return time.monotonic() - started


async def kill_servers(
    cluster: Cluster, nats_cluster: EmbeddedNatsCluster, database_url: str, task_ids: list[str]
) -> dict[str, float]:
    """The faults, at planned moments of the window; the figures they produced."""
    figures: dict[str, float] = {}
    stream = cluster.ns.stream_name("crm")  # TaskDue
    nc = await nats.connect(nats_cluster.urls, max_reconnect_attempts=-1, reconnect_time_wait=0.2)
    try:
        await asyncio.sleep(WINDOW * 0.25)  # fault injection at a planned moment
        first = await stream_leader(nc, stream)
        assert first is not None
        nats_cluster.server(first).kill()
        cluster.note(f"SIGKILL NATS {first} (leader of {stream})")
        figures["failover_s"] = await wait_for_leader(nc, stream, not_on=first)
        cluster.note(f"{stream} has a new leader after {figures['failover_s']:.1f}s")
        before = await finished(database_url, task_ids)
        await asyncio.sleep(WINDOW * 0.25)
        figures["finished_on_two_servers"] = await finished(database_url, task_ids) - before
        second = await stream_leader(nc, stream) or next(
            s.name for s in nats_cluster.servers if s.running
        )
        nats_cluster.server(second).kill()
        cluster.note(f"SIGKILL NATS {second}: quorum lost for {QUORUM_LOST:.0f}s")
        await asyncio.sleep(QUORUM_LOST)
        nats_cluster.server(second).start()
        figures["quorum_back_s"] = await wait_for_leader(nc, stream)
        cluster.note(
            f"{second} restarted; {stream} led again after {figures['quorum_back_s']:.1f}s"
        )
        nats_cluster.server(first).start()
        cluster.note(f"{first} restarted (same ports and store)")
    finally:
        await nc.close()
    return figures


async def finished(database_url: str, task_ids: list[str]) -> int:
    return sum(r["status"] in FINAL for r in await task_outcomes(database_url, task_ids))


async def test_follow_ups_survive_losing_servers_of_the_cluster(
    services: tuple[Cluster, MotoSes, str], nats_cluster: EmbeddedNatsCluster
) -> None:
    cluster, ses, database_url = services
    rng = random.Random(FOLLOW_UPS)
    lead = 5.0 + FOLLOW_UPS / 25
    start = datetime.now(UTC) + timedelta(seconds=lead)
    task_ids = await chaos.create_follow_ups(cluster, rng, start, count=FOLLOW_UPS, window=WINDOW)
    cluster.note(f"created {len(task_ids)} tasks due over {WINDOW:.0f}s from +{lead:.0f}s")
    await asyncio.sleep(max(0.0, (start - datetime.now(UTC)).total_seconds()))
    began = time.monotonic()
    figures = await kill_servers(cluster, nats_cluster, database_url, task_ids)

    async def all_final() -> list[dict[str, Any]] | None:
        rows = await task_outcomes(database_url, task_ids)
        return rows if all(r["status"] in FINAL for r in rows) else None

    try:
        rows: list[dict[str, Any]] = await eventually(
            all_final, timeout=300, interval=1.0, what="every task final"
        )
    except AssertionError:
        print(cluster.logs())
        raise
    elapsed = time.monotonic() - began
    statuses = Counter(str(r["status"]) for r in rows)
    per_email = Counter(m.email_id for m in await asyncio.to_thread(ses.sent_messages))
    nc = await nats.connect(nats_cluster.urls)
    try:
        per_slot, _ = await ticks_per_slot(nc, cluster.ns)
    finally:
        await nc.close()
    await cluster.wait_all_ready(timeout=120)  # every service reconnected by itself
    duplicates = sum(n - 1 for n in per_email.values())
    print(
        f"\nchaos: NATS cluster, {FOLLOW_UPS} follow-ups, {REPLICAS} replica(s) per service, "
        f"{elapsed:.0f}s; kills: 2 NATS servers (quorum lost {QUORUM_LOST:.0f}s); "
        f"final {dict(statuses)}; SES sent {len(per_email)}, duplicates {duplicates}, "
        f"lost {FOLLOW_UPS - sum(statuses[s] for s in FINAL)}; "
        f"stream failover {figures['failover_s']:.1f}s, quorum back "
        f"{figures['quorum_back_s']:.1f}s after the restart; "
        f"{figures['finished_on_two_servers']:.0f} follow-ups finished on two servers; "
        f"max ticks per slot {max(per_slot.values(), default=0)}"
    )
    print("\n".join(f"chaos: {line}" for line in cluster.events))
    assert statuses["sent"] == FOLLOW_UPS, statuses  # none lost, none failed or unknown
    assert duplicates == 0
    assert set(per_email) == {r["email_id"] for r in rows}
    assert figures["finished_on_two_servers"] > 0, "work went on with one server down"
    assert max(per_slot.values()) == 1, "one leader: one tick per slot"
