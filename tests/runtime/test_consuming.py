"""The retry and dead-letter policy every consumer shares, against a real NATS server."""
# No `from __future__ import annotations` here: faststream reads the handler's annotations.

import json
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import pytest
from faststream.nats import NatsMessage
from nats.aio.client import Client as NATS

from realtoros_contracts import EmailSent, Namespace, encode, envelope_headers
from realtoros_runtime.bus import Bus, build_bus
from realtoros_runtime.consuming import RetryPolicy, envelope_of
from realtoros_runtime.settings import ServiceSettings
from tests.support.samples import sample
from tests.support.waiting import eventually

SENT = sample(EmailSent)


class Flaky:
    """A handler that fails a set number of times per event id, then records success."""

    def __init__(self, failures: dict[str, int]) -> None:
        self.failures = failures
        self.calls: Counter[str] = Counter()
        self.done: list[str] = []

    async def __call__(self, event: EmailSent, msg: NatsMessage) -> None:
        event_id = envelope_of(msg).id
        self.calls[event_id] += 1
        if self.calls[event_id] <= self.failures.get(event_id, 0):
            raise RuntimeError(f"transient failure {self.calls[event_id]}")
        self.done.append(event_id)


@pytest.fixture
async def bus_with_flaky(
    nats_url: str, namespace: Namespace, nats_client: NATS
) -> AsyncIterator[tuple[Bus, Flaky]]:
    settings = ServiceSettings(nats_url=nats_url, nats_namespace=namespace.name)  # type: ignore[arg-type]
    bus = build_bus("testsvc", settings, RetryPolicy(max_deliveries=3, base_delay=0.02))
    handler = Flaky({"always-fails": 99, "fails-twice": 2})

    async def on_email_sent(event: EmailSent, msg: NatsMessage) -> None:
        await handler(event, msg)

    bus.durable(namespace.subject(EmailSent), producer="mailer", durable="testsvc-sent")(
        on_email_sent
    )
    await bus.connect()
    await bus.broker.start()
    yield bus, handler
    await bus.broker.stop()


async def publish_raw(nc: NATS, ns: Namespace, body: bytes, headers: dict[str, str] | None) -> None:
    await nc.jetstream().publish(ns.subject(EmailSent), body, headers=headers)


async def dead_letters(nc: NATS, ns: Namespace, count: int) -> list[Any]:
    sub = await nc.jetstream().subscribe(ns.dead_letter_subject("testsvc"), ordered_consumer=True)
    found: list[Any] = []
    try:
        while len(found) < count:
            found.append(await sub.next_msg(timeout=10))
    finally:
        await sub.unsubscribe()
    return found


def headers_for(event_id: str) -> dict[str, str]:
    return envelope_headers(SENT, event_id=event_id, source="realtoros/test")


async def test_transient_failures_are_retried_until_success(
    bus_with_flaky: tuple[Bus, Flaky], nats_client: NATS, namespace: Namespace
) -> None:
    _, handler = bus_with_flaky
    await publish_raw(nats_client, namespace, encode(SENT), headers_for("fails-twice"))
    await eventually(lambda: "fails-twice" in handler.done)
    assert handler.calls["fails-twice"] == 3
    assert handler.done == ["fails-twice"]


async def test_malformed_messages_are_dead_lettered_with_reason_and_service_keeps_serving(
    bus_with_flaky: tuple[Bus, Flaky], nats_client: NATS, namespace: Namespace
) -> None:
    _, handler = bus_with_flaky
    invalid_body = json.loads(encode(SENT)) | {"sent_at": "yesterday"}
    await publish_raw(nats_client, namespace, b"{not json", headers_for("bad-json"))
    await publish_raw(
        nats_client, namespace, json.dumps(invalid_body).encode(), headers_for("bad-schema")
    )
    await publish_raw(nats_client, namespace, encode(SENT), None)
    await publish_raw(nats_client, namespace, encode(SENT), headers_for("good"))

    letters = await dead_letters(nats_client, namespace, 3)
    reasons = [m.headers["x-dead-letter-reason"] for m in letters]
    assert "invalid event body" in reasons[0]
    assert "sent_at" in reasons[1]
    assert "missing CloudEvents header" in reasons[2]
    assert all(m.headers["x-dead-letter-service"] == "testsvc" for m in letters)
    assert all(m.headers["x-dead-letter-deliveries"] == "1" for m in letters)
    assert letters[0].data == b"{not json"
    await eventually(lambda: handler.done == ["good"])
    assert set(handler.calls) == {"good"}  # the bad ones never reached the handler


async def test_a_message_that_keeps_failing_is_dead_lettered_after_the_last_delivery(
    bus_with_flaky: tuple[Bus, Flaky], nats_client: NATS, namespace: Namespace
) -> None:
    _, handler = bus_with_flaky
    await publish_raw(nats_client, namespace, encode(SENT), headers_for("always-fails"))
    (letter,) = await dead_letters(nats_client, namespace, 1)
    assert letter.headers["x-dead-letter-deliveries"] == "3"
    assert "RuntimeError: transient failure 3" in letter.headers["x-dead-letter-reason"]
    assert letter.headers["ce-id"] == "always-fails"
    assert handler.calls["always-fails"] == 3
    await publish_raw(nats_client, namespace, encode(SENT), headers_for("after"))
    await eventually(lambda: handler.done == ["after"])


async def test_a_handler_gets_its_message_without_a_thread_hop(
    nats_url: str, namespace: Namespace, nats_client: NATS, monkeypatch: pytest.MonkeyPatch
) -> None:
    # FastStream resolves `msg: NatsMessage` through a synchronous context field, which
    # fast_depends runs in a worker thread per message; Bus.durable hands it over itself.
    import fast_depends.utils

    hops: list[str] = []
    real = fast_depends.utils.run_in_threadpool

    async def counted(func: Any, *args: Any, **kwargs: Any) -> Any:
        hops.append(getattr(func, "__qualname__", repr(func)))
        return await real(func, *args, **kwargs)

    monkeypatch.setattr(fast_depends.utils, "run_in_threadpool", counted)
    settings = ServiceSettings(nats_url=nats_url, nats_namespace=namespace.name)  # type: ignore[arg-type]
    bus = build_bus("testsvc", settings)
    seen: list[tuple[str, str]] = []

    async def on_email_sent(event: EmailSent, msg: NatsMessage) -> None:
        seen.append((str(event.email_id), envelope_of(msg).id))

    bus.durable(namespace.subject(EmailSent), producer="mailer", durable="testsvc-hop")(
        on_email_sent
    )
    await bus.connect()
    await bus.broker.start()
    try:
        await publish_raw(nats_client, namespace, encode(SENT), headers_for("no-hop"))
        await eventually(lambda: bool(seen))
    finally:
        await bus.broker.stop()
    assert seen == [(str(SENT.email_id), "no-hop")]
    assert hops == []
