"""Batch consumers (``realtoros_runtime.batches``) against a real NATS server: batches are
recorded then acked, one bad message is isolated by splitting, malformed ones are
dead-lettered at once, an outage retries the batch without splitting or dead letters."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

import pytest
from nats.aio.client import Client as NATS

from realtoros_contracts import EmailSent, Namespace, encode
from realtoros_runtime.batches import BatchConsumer, Received, batch_durable, start_batches
from realtoros_runtime.bus import Bus, build_bus
from realtoros_runtime.consuming import RetryPolicy
from realtoros_runtime.settings import ServiceSettings
from realtoros_runtime.streams import ensure_streams
from tests.runtime.test_consuming import SENT, dead_letters, headers_for, publish_raw
from tests.support.waiting import eventually

DURABLE = "testsvc-batches"


@dataclass
class Recorder:
    """A handler that records a batch all-or-nothing (as one transaction would)."""

    fail: Callable[[list[str]], Exception | None] = lambda ids: None
    batches: list[list[str]] = field(default_factory=list)
    recorded: list[str] = field(default_factory=list)

    async def __call__(self, batch: list[Received]) -> None:
        ids = [item.envelope.id for item in batch]
        assert all(isinstance(item.event, EmailSent) for item in batch)
        self.batches.append(ids)
        if (error := self.fail(ids)) is not None:
            raise error
        self.recorded.extend(ids)


@pytest.fixture
async def start(nats_url: str, namespace: Namespace) -> AsyncIterator[Callable[[Recorder], object]]:
    buses: list[Bus] = []

    async def run(recorder: Recorder) -> BatchConsumer:
        settings = ServiceSettings(nats_url=nats_url, nats_namespace=namespace.name)  # type: ignore[arg-type]
        bus = build_bus("testsvc", settings, RetryPolicy(max_deliveries=2, base_delay=0.02))
        consumer = batch_durable(
            bus, namespace.subject(EmailSent), producer="mailer", durable=DURABLE, batch_size=20
        )(recorder)
        await bus.connect()
        await bus.broker.start()
        await start_batches(bus)
        buses.append(bus)
        return consumer

    yield run
    for bus in buses:
        for consumer in bus.batches:
            await consumer.stop()
        await bus.broker.stop()


async def publish(nc: NATS, ns: Namespace, ids: list[str]) -> None:
    await ensure_streams(nc.jetstream(), ns)  # (a test may publish before the bus starts)
    for event_id in ids:
        await publish_raw(nc, ns, encode(SENT), headers_for(event_id))


async def settled(nc: NATS, ns: Namespace) -> None:
    """Nothing left to deliver and nothing unacked."""
    js = nc.jetstream()
    stream = ns.stream_name("mailer")

    async def check() -> bool:
        info = await js.consumer_info(stream, DURABLE)
        return bool(info.num_pending == 0 and info.num_ack_pending == 0)

    for _ in range(200):
        if await check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the consumer did not settle")


async def test_batches_are_recorded_then_acked(
    start: Callable[[Recorder], object], nats_client: NATS, namespace: Namespace
) -> None:
    recorder = Recorder()
    await start(recorder)  # type: ignore[misc]
    ids = [f"ok-{n}" for n in range(50)]
    await publish(nats_client, namespace, ids)
    await eventually(lambda: len(recorder.recorded) == 50)
    assert sorted(recorder.recorded) == sorted(ids)
    assert max(len(b) for b in recorder.batches) > 1, "handed over in batches"
    assert max(len(b) for b in recorder.batches) <= 20
    await settled(nats_client, namespace)


async def test_one_bad_message_is_isolated_and_its_neighbours_are_recorded(
    start: Callable[[Recorder], object], nats_client: NATS, namespace: Namespace
) -> None:
    def poison(ids: list[str]) -> Exception | None:
        return RuntimeError("cannot record poison") if "poison" in ids else None

    ids = [f"ok-{n}" for n in range(7)] + ["poison"] + [f"ok-{n}" for n in range(7, 15)]
    await publish(nats_client, namespace, ids)  # before the consumer: one batch of 16
    recorder = Recorder(fail=poison)
    await start(recorder)  # type: ignore[misc]

    (letter,) = await dead_letters(nats_client, namespace, 1)
    assert letter.headers["x-dead-letter-reason"].startswith("gave up after 2 failures")
    assert "cannot record poison" in letter.headers["x-dead-letter-reason"]
    assert letter.headers["Nats-Msg-Id"].endswith(":8")  # the 8th message of the stream
    await eventually(lambda: len(recorder.recorded) == 15)
    assert sorted(recorder.recorded) == sorted(i for i in ids if i != "poison")  # once each
    assert recorder.batches[0] == ids, "the neighbours came in the same batch"
    await settled(nats_client, namespace)


async def test_malformed_messages_are_dead_lettered_and_never_reach_the_handler(
    start: Callable[[Recorder], object], nats_client: NATS, namespace: Namespace
) -> None:
    invalid = json.loads(encode(SENT)) | {"sent_at": "yesterday"}
    await publish(nats_client, namespace, ["before"])
    body = json.dumps(invalid).encode()
    await publish_raw(nats_client, namespace, body, headers_for("bad"))
    await publish(nats_client, namespace, ["after"])
    recorder = Recorder()
    await start(recorder)  # type: ignore[misc]

    (letter,) = await dead_letters(nats_client, namespace, 1)
    assert "sent_at" in letter.headers["x-dead-letter-reason"]
    assert letter.headers["x-dead-letter-deliveries"] == "1"
    await eventually(lambda: sorted(recorder.recorded) == ["after", "before"])
    assert all("bad" not in batch for batch in recorder.batches)
    await settled(nats_client, namespace)


async def test_an_outage_retries_the_whole_batch_without_splitting_or_dead_letters(
    start: Callable[[Recorder], object], nats_client: NATS, namespace: Namespace
) -> None:
    calls = 0

    def down_twice(ids: list[str]) -> Exception | None:
        nonlocal calls
        calls += 1
        return ConnectionRefusedError("database is down") if calls <= 2 else None

    ids = [f"ok-{n}" for n in range(8)]
    await publish(nats_client, namespace, ids)
    recorder = Recorder(fail=down_twice)
    await start(recorder)  # type: ignore[misc]

    await eventually(lambda: len(recorder.recorded) == 8, timeout=20)
    assert sorted(recorder.recorded) == sorted(ids)
    assert recorder.batches[0] == ids
    # Not split: a split hands the first half over at once (the redeliveries come later,
    # each after its own jittered backoff).
    assert recorder.batches[1] != ids[:4]
    info = await nats_client.jetstream().stream_info(namespace.dead_letter_stream().name)
    assert info.state.messages == 0
    await settled(nats_client, namespace)
