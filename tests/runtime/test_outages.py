"""An outage costs latency, never a dead letter: consumers against a real NATS server."""
# No `from __future__ import annotations` here: faststream reads the handler's annotations.

from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from faststream.nats import NatsMessage
from nats.aio.client import Client as NATS

from realtoros_contracts import EmailSent, Namespace, SchedulerTick, encode, envelope_headers
from realtoros_contracts.subjects import (
    DEAD_LETTER_MAX_AGE_DAYS,
    DEAD_LETTER_MAX_BYTES,
    DEAD_LETTER_MAX_MESSAGES,
)
from realtoros_runtime.bus import Bus, build_bus
from realtoros_runtime.consuming import RetryPolicy, envelope_of
from realtoros_runtime.faults import Unprocessable
from realtoros_runtime.settings import ServiceSettings
from tests.runtime.test_consuming import dead_letters, headers_for, publish_raw
from tests.support.samples import sample
from tests.support.waiting import eventually

SENT = sample(EmailSent)
TICK = sample(SchedulerTick)
Behaviour = Callable[[str, int], Awaitable[None]]


class Recorder:
    """Calls ``behaviour(event_id, call number)`` and records what got through."""

    def __init__(self, behaviour: Behaviour) -> None:
        self.behaviour = behaviour
        self.calls: Counter[str] = Counter()
        self.done: list[str] = []

    async def __call__(self, event_id: str) -> None:
        self.calls[event_id] += 1
        await self.behaviour(event_id, self.calls[event_id])
        self.done.append(event_id)


async def start_bus(nats_url: str, ns: Namespace, recorder: Recorder, ticks: bool = False) -> Bus:
    settings = ServiceSettings(nats_url=nats_url, nats_namespace=ns.name)  # type: ignore[arg-type]
    bus = build_bus("testsvc", settings, RetryPolicy(max_deliveries=3, base_delay=0.02))
    bus.readiness._first_poll = 0.05  # a test need not wait half a second per poll

    if ticks:

        async def on_tick(event: SchedulerTick, msg: NatsMessage) -> None:
            await recorder(envelope_of(msg).id)

        bus.durable(ns.all_ticks(), producer="scheduler", durable="testsvc-ticks")(on_tick)
    else:

        async def on_sent(event: EmailSent, msg: NatsMessage) -> None:
            await recorder(envelope_of(msg).id)

        bus.durable(ns.subject(EmailSent), producer="mailer", durable="testsvc-sent")(on_sent)
    await bus.connect()
    await bus.broker.start()
    return bus


@pytest.fixture
async def stop_later() -> AsyncIterator[list[Bus]]:
    buses: list[Bus] = []
    yield buses
    for bus in buses:
        await bus.broker.stop()
        await bus.readiness.close()


async def dead_letter_count(nc: NATS, ns: Namespace) -> int:
    info = await nc.jetstream().stream_info(ns.dead_letter_stream().name)
    return int(info.state.messages)


async def test_an_outage_longer_than_the_retry_budget_is_retried_until_it_ends(
    nats_url: str, namespace: Namespace, nats_client: NATS, stop_later: list[Bus]
) -> None:
    async def refused_six_times(event_id: str, call: int) -> None:
        if call <= 6:  # twice the budget of 3
            raise ConnectionRefusedError(111, "Connection refused")

    recorder = Recorder(refused_six_times)
    stop_later.append(await start_bus(nats_url, namespace, recorder))
    await publish_raw(nats_client, namespace, encode(SENT), headers_for("outage"))
    await eventually(lambda: recorder.done == ["outage"], timeout=60)
    assert recorder.calls["outage"] == 7
    assert await dead_letter_count(nats_client, namespace) == 0


async def test_consumers_wait_while_readiness_fails_and_resume_after(
    nats_url: str, namespace: Namespace, nats_client: NATS, stop_later: list[Bus]
) -> None:
    state = {"down": True, "checks": 0}

    async def database() -> str | None:
        state["checks"] += 1
        return "database: down" if state["down"] else None

    async def fails_while_down(event_id: str, call: int) -> None:
        if state["down"]:
            raise ConnectionRefusedError(111, "Connection refused")

    recorder = Recorder(fails_while_down)
    bus = await start_bus(nats_url, namespace, recorder)
    stop_later.append(bus)
    bus.readiness.add_check(database)
    for n in range(5):
        await publish_raw(nats_client, namespace, encode(SENT), headers_for(f"m{n}"))
    await eventually(lambda: not bus.readiness.is_open)
    await eventually(lambda: state["checks"] >= 5)  # the gate polled again and again...
    tried = sum(recorder.calls.values())
    assert tried <= 5  # ...while no handler ran (each message tried at most once)
    assert (await bus.readiness.problems()) == ["database: down"]
    state["down"] = False
    await eventually(lambda: sorted(recorder.done) == [f"m{n}" for n in range(5)], timeout=60)
    assert bus.readiness.is_open
    assert await dead_letter_count(nats_client, namespace) == 0


async def test_a_message_that_can_never_succeed_is_dead_lettered_at_once(
    nats_url: str, namespace: Namespace, nats_client: NATS, stop_later: list[Bus]
) -> None:
    async def unknown_email(event_id: str, call: int) -> None:
        raise Unprocessable("no such email")

    recorder = Recorder(unknown_email)
    stop_later.append(await start_bus(nats_url, namespace, recorder))
    await publish_raw(nats_client, namespace, encode(SENT), headers_for("poison"))
    (letter,) = await dead_letters(nats_client, namespace, 1)
    assert letter.headers["x-dead-letter-deliveries"] == "1"
    assert "no such email" in letter.headers["x-dead-letter-reason"]
    assert recorder.calls["poison"] == 1


async def test_the_dead_letter_stream_is_bounded_and_its_depth_is_a_metric(
    nats_url: str, namespace: Namespace, nats_client: NATS, stop_later: list[Bus]
) -> None:
    async def unknown_email(event_id: str, call: int) -> None:
        raise Unprocessable("no such email")

    bus = await start_bus(nats_url, namespace, Recorder(unknown_email))
    stop_later.append(bus)
    stream = namespace.dead_letter_stream().name
    config = (await nats_client.jetstream().stream_info(stream)).config
    assert config.max_msgs == DEAD_LETTER_MAX_MESSAGES
    assert config.max_bytes == DEAD_LETTER_MAX_BYTES
    assert config.max_age == DEAD_LETTER_MAX_AGE_DAYS * 24 * 3600
    for n in range(2):
        await publish_raw(nats_client, namespace, encode(SENT), headers_for(f"poison-{n}"))
    await dead_letters(nats_client, namespace, 2)
    body, _ = await bus.metrics.scrape(bus.broker)
    assert f'realtoros_testsvc_dead_letters{{stream="{stream}"}} 2.0' in body.decode()


async def test_ticks_that_cannot_be_handled_are_dropped_never_dead_lettered(
    nats_url: str, namespace: Namespace, nats_client: NATS, stop_later: list[Bus]
) -> None:
    async def fails(event_id: str, call: int) -> None:
        if event_id == "bug":
            raise RuntimeError("claiming failed")
        if event_id == "outage":
            raise TimeoutError

    recorder = Recorder(fails)
    stop_later.append(await start_bus(nats_url, namespace, recorder, ticks=True))
    subject = namespace.tick_subject(TICK.schedule)
    js = nats_client.jetstream()
    for event_id in ("bug", "outage"):
        headers = envelope_headers(TICK, event_id=event_id, source="realtoros/test")
        await js.publish(subject, encode(TICK), headers=headers)
    await js.publish(subject, b"{not json", headers={"ce-id": "garbled"})
    last = envelope_headers(TICK, event_id="last", source="realtoros/test")
    await js.publish(subject, encode(TICK), headers=last)
    await eventually(lambda: recorder.done == ["last"], timeout=30)
    assert recorder.calls == Counter({"bug": 1, "outage": 1, "last": 1})
    info = await js.consumer_info(namespace.stream_name("scheduler"), "testsvc-ticks")
    assert info.num_ack_pending == 0
    assert info.num_redelivered == 0
    assert await dead_letter_count(nats_client, namespace) == 0
