"""The embedded three-server JetStream cluster: streams and buckets created at replicas 1
by an older version move to replicas 3 when the services start with JETSTREAM_REPLICAS=3
(the migration of an existing deployment), and a stream keeps taking messages when its
leader's server is SIGKILLed, with a client that knows every server's URL."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import nats
import pytest
from nats.aio.client import Client as NatsClient
from nats.js.api import KeyValueConfig

from realtoros_contracts import LEDGER_MAX_AGE, EmailSent, Namespace
from realtoros_devstack.nats_cluster import EmbeddedNatsCluster
from realtoros_mailer.ledger import SendLedger
from realtoros_runtime.bus import build_bus
from realtoros_runtime.settings import ServiceSettings
from realtoros_runtime.streams import ensure_streams
from tests.support.waiting import eventually

NS = Namespace("clustered", replicas=3)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedNatsCluster]:
    started = EmbeddedNatsCluster(Path(tmp_path_factory.mktemp("nats-cluster"))).start()
    try:
        asyncio.run(started.wait_until_formed())
        yield started
    finally:
        started.stop()


@pytest.fixture
async def client(cluster: EmbeddedNatsCluster) -> AsyncIterator[NatsClient]:
    nc = await nats.connect(cluster.urls, max_reconnect_attempts=-1, reconnect_time_wait=0.2)
    yield nc
    await nc.close()


async def test_an_r1_deployment_moves_to_r3_in_place(client: NatsClient) -> None:
    js = client.jetstream()
    old = Namespace(NS.name)  # what an older version created: replicas 1, no ledger expiry
    await ensure_streams(js, old)
    await js.create_key_value(KeyValueConfig(bucket=NS.bucket("send_ledger"), history=1))
    assert (await js.stream_info(NS.stream_name("crm"))).config.num_replicas == 1

    await ensure_streams(js, NS)
    await SendLedger(NS).open(js)

    for spec in NS.streams():
        assert (await js.stream_info(spec.name)).config.num_replicas == 3, spec.name
    ledger = (await js.stream_info(f"KV_{NS.bucket('send_ledger')}")).config
    assert (ledger.num_replicas, ledger.max_age) == (3, float(LEDGER_MAX_AGE))


async def test_a_stream_keeps_taking_messages_when_its_leader_is_killed(
    cluster: EmbeddedNatsCluster, client: NatsClient
) -> None:
    js = client.jetstream()
    await ensure_streams(js, NS)
    stream = NS.stream_name("crm")
    subject = f"{NS.name}.crm.probe.sent"
    for n in range(5):
        await js.publish(subject, b"x", headers={"Nats-Msg-Id": f"before-{n}"})

    async def replicas_current() -> bool | None:
        # A stream just scaled up from R1 has one copy until its new replicas catch up.
        info = (await js.stream_info(stream)).cluster
        peers = (info.replicas or []) if info else []
        return (len(peers) == 2 and all(p.current for p in peers)) or None

    current: bool = await eventually(replicas_current, timeout=60, interval=0.2)
    assert current
    leader = (await js.stream_info(stream)).cluster
    assert leader is not None
    assert leader.leader
    cluster.server(leader.leader).kill()
    killed_at = time.monotonic()
    try:

        async def published() -> bool | None:
            try:
                await js.publish(subject, b"y", headers={"Nats-Msg-Id": "after"}, timeout=1)
            except Exception:  # no leader yet: the survivors are electing one
                return None
            return True

        done: bool = await eventually(published, timeout=60, interval=0.1)
        assert done
        failover = time.monotonic() - killed_at
        info = await js.stream_info(stream)
        assert info.cluster is not None
        assert info.cluster.leader != leader.leader
        assert info.state.messages >= 6
        print(f"\nleader {leader.leader} killed; {info.cluster.leader} leads after {failover:.1f}s")
    finally:
        cluster.server(leader.leader).start()


async def test_a_service_starting_without_a_quorum_waits_for_it(
    cluster: EmbeddedNatsCluster,
) -> None:
    """Two of three servers down (no meta leader, no stream leader): a starting service
    neither exits nor gives up; it waits with backoff, and once a quorum is back it has
    its streams and its durable consumer at replicas 3 and starts consuming."""
    ns = Namespace(f"waits{time.monotonic_ns() % 10**8}", replicas=3)
    settings = ServiceSettings(
        nats_url=cluster.url,  # type: ignore[arg-type]
        nats_namespace=ns.name,
        jetstream_replicas="3",  # type: ignore[arg-type]
    )
    bus = build_bus("crm", settings)
    durable = "crm-waits-for-quorum"

    async def handle(event: EmailSent) -> None:
        return None

    bus.durable(bus.ns.subject(EmailSent), producer="mailer", durable=durable)(handle)

    down = cluster.servers[1:]
    for server in down:
        server.kill()
    try:
        connecting = asyncio.create_task(bus.connect())
        await asyncio.sleep(25)  # longer than one API request may take (JS_API_TIMEOUT)
        assert not connecting.done(), connecting  # still waiting: no exception, no exit
    finally:
        for server in down:
            server.start()
    try:
        await asyncio.wait_for(connecting, timeout=120)
        js = bus.broker.connection.jetstream()
        info = await js.consumer_info(bus.ns.stream_name("mailer"), durable)
        assert info.config.num_replicas in (0, 3)  # 0: the stream's (3)
        assert (await js.stream_info(bus.ns.stream_name("mailer"))).config.num_replicas == 3
        await bus.broker.start()  # FastStream binds to the consumer it finds
    finally:
        await bus.broker.stop()
    await cluster.wait_until_formed()


async def test_racing_claims_on_a_replicated_ledger_all_get_an_answer(
    client: NatsClient,
) -> None:
    """On a replicated bucket the server refuses a create whose key another write is still
    replicating with 10164 ("wrong last sequence", no number) rather than 10071: the
    ledger reads it as the key being taken, so one mailer claims the email and every other
    one finds that claim (none fails the delivery)."""
    ledger = SendLedger(NS)
    await ledger.open(client.jetstream())
    for _ in range(5):
        email_id = uuid.uuid4()
        owners = [f"mailer-{n}" for n in range(12)]
        claims = await asyncio.gather(*(ledger.claim(email_id, owner) for owner in owners))
        winners = [c for c in claims if c.existing is None]
        assert len(winners) == 1
        found = {c.existing.owner for c in claims if c.existing is not None}
        assert len(found) == 1
        assert found <= set(owners)
