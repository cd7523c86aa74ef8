"""The leader lease in-process, against a real NATS server."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from nats.aio.client import Client as NATS
from nats.js.api import KeyValueConfig

from realtoros_contracts import Namespace
from realtoros_scheduler.leader import LEADER_KEY, LeaderLease
from tests.support.waiting import eventually

TTL = 1.5


class Replicas:
    """Leases on one bucket, each running its loop as a task of this test."""

    def __init__(self, nc: NATS, bucket: str) -> None:
        self.js = nc.jetstream()
        self.bucket = bucket
        self.tasks: dict[str, asyncio.Task[None]] = {}

    def start(self, replica: str, ttl: float = TTL) -> LeaderLease:
        lease = LeaderLease(self.bucket, replica=replica, ttl=ttl)
        self.tasks[replica] = asyncio.create_task(lease.run(self.js))
        return lease

    async def crash(self, replica: str) -> None:
        """Stop a lease's loop without releasing anything, as a SIGKILL would."""
        task = self.tasks.pop(replica)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    async def close(self) -> None:
        for replica in list(self.tasks):
            await self.crash(replica)


@pytest.fixture
async def replicas(nats_client: NATS, namespace: Namespace) -> AsyncIterator[Replicas]:
    group = Replicas(nats_client, namespace.bucket("leader"))
    yield group
    await group.close()


def leads(lease: LeaderLease) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        return lease.is_leader

    return check


async def sees_leader(lease: LeaderLease, holder: str) -> None:
    async def check() -> bool:
        return lease.holder == holder

    await eventually(check, timeout=10, what=f"{lease.replica} to see {holder} lead")


async def a_leads_b_follows(replicas: Replicas) -> tuple[LeaderLease, LeaderLease]:
    """Replica a started and leading, then b started and seeing a lead; (a, b)."""
    a = replicas.start("a")
    await eventually(leads(a), timeout=10, what="a to lead")
    b = replicas.start("b")
    await sees_leader(b, "a")
    return a, b


async def test_exactly_one_leads_and_a_resignation_hands_over_at_once(
    replicas: Replicas,
) -> None:
    a, b = await a_leads_b_follows(replicas)
    assert (a.is_leader, b.is_leader) == (True, False)

    await replicas.crash("a")
    resigned_at = time.monotonic()
    await a.resign()
    await eventually(leads(b), timeout=TTL, what="b to lead after a resigned")
    handover = time.monotonic() - resigned_at
    # Expiry could not explain it: the key was refreshed at most TTL/3 earlier.
    assert handover < TTL / 2, handover
    assert not a.is_leader
    assert a.holder != "a"


async def test_a_crashed_leader_is_replaced_within_a_ttl_and_never_overlaps(
    replicas: Replicas,
) -> None:
    a, b = await a_leads_b_follows(replicas)

    await replicas.crash("a")
    crashed_at = time.monotonic()
    overlaps = 0

    async def b_leads() -> bool:
        nonlocal overlaps
        overlaps += a.is_leader and b.is_leader
        return b.is_leader

    await eventually(b_leads, timeout=TTL * 3, what="b to take over", interval=0.01)
    took = time.monotonic() - crashed_at
    print(f"\nin-process failover: {took:.2f}s (TTL {TTL}s)")
    assert overlaps == 0
    # a's own deadline passed before the key expired on the server.
    assert not a.is_leader
    assert TTL / 3 < took < TTL + TTL / 3 + 1.0


async def test_the_leader_steps_down_when_its_key_is_taken(
    replicas: Replicas, nats_client: NATS
) -> None:
    a = replicas.start("a")
    await eventually(leads(a), timeout=10, what="a to lead")
    kv = await nats_client.jetstream().key_value(replicas.bucket)
    entry = await kv.get(LEADER_KEY)
    await kv.delete(LEADER_KEY, last=entry.revision)
    await kv.create(LEADER_KEY, b'{"replica": "intruder", "lease": "x"}')

    async def stepped_down() -> bool:
        return not a.is_leader and a.holder == "intruder"

    await eventually(stepped_down, timeout=TTL, what="a to step down")


async def test_a_refresh_that_landed_unseen_is_taken_back(
    replicas: Replicas, nats_client: NATS
) -> None:
    """A refresh can time out after the server stored it: the revision the leader knows is
    then stale. It steps down, then recognises its own lease and takes it back."""
    a = replicas.start("a")
    await eventually(leads(a), timeout=10, what="a to lead")
    kv = await nats_client.jetstream().key_value(replicas.bucket)
    entry = await kv.get(LEADER_KEY)
    assert entry.value is not None
    revision = await kv.update(LEADER_KEY, entry.value, last=entry.revision)

    async def retaken() -> bool:
        current = await kv.get(LEADER_KEY)
        return a.is_leader and (current.revision or 0) > revision and current.value == entry.value

    await eventually(retaken, timeout=TTL * 2, what="a to take its lease back")


async def test_the_bucket_ttl_wins_over_the_setting(replicas: Replicas, nats_client: NATS) -> None:
    await nats_client.jetstream().create_key_value(
        KeyValueConfig(bucket=replicas.bucket, ttl=1.0, history=1)
    )
    a = replicas.start("a", ttl=30)
    await eventually(leads(a), timeout=10, what="a to lead")
    assert a.ttl == 1.0
    assert not (await a.ready_problem())
