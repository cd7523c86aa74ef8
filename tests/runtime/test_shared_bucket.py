"""The token bucket every replica shares through NATS KV: its rate holds across separate
clients, compare-and-set loses no token to a race, and an oversized take waits."""

from __future__ import annotations

import asyncio
import time

import nats
from nats.aio.client import Client as NatsClient

from realtoros_contracts import Namespace
from realtoros_runtime.shared_bucket import SharedTokenBucket, open_rate_limits


async def test_replicas_on_separate_connections_share_one_rate(
    nats_url: str, namespace: Namespace, nats_client: NatsClient
) -> None:
    rate, per_replica = 40.0, 30
    connections = [await nats.connect(nats_url) for _ in range(3)]
    try:
        buckets = [
            SharedTokenBucket(await open_rate_limits(nc.jetstream(), namespace), "t", rate=rate)
            for nc in connections
        ]
        started = time.monotonic()
        await asyncio.gather(*(b.take() for b in buckets for _ in range(per_replica)))
        elapsed = time.monotonic() - started
    finally:
        for nc in connections:
            await nc.close()
    # 90 tokens: the full bucket (20) at once, 70 more at 40/s. A lower bound only: a slow
    # machine makes it longer, never shorter.
    assert elapsed >= (3 * per_replica - rate * 0.5) / rate * 0.95
    # Tokens come in batches: one by one, each would cost a read and a write at least.
    trips = [b.round_trips for b in buckets]
    assert sum(trips) < 2 * 3 * per_replica, trips


async def test_a_take_larger_than_the_bucket_waits_for_it_full(
    namespace: Namespace, nats_client: NatsClient
) -> None:
    kv = await open_rate_limits(nats_client.jetstream(), namespace)
    bucket = SharedTokenBucket(kv, "big", rate=10.0)  # capacity 5
    await bucket.take(5)
    started = time.monotonic()
    await bucket.take(8)  # waits for a full bucket again: 0.5 s
    assert time.monotonic() - started >= 0.45
    started = time.monotonic()
    await bucket.take(1)  # the bucket is 3 in debt: 0.4 s
    assert time.monotonic() - started >= 0.35
