"""Reconnects: after a NATS restart (same port, same data) a durable pull consumer
resumes (nats.py #504: a pull subscription can stall after a server restart), and a
service's /readyz says 503 while NATS is down and 200 once it is back."""
# No `from __future__ import annotations` here: faststream reads the handler's annotations.

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import nats
import pytest
from faststream.nats import NatsMessage

from realtoros_contracts import EmailSent, Namespace, encode, envelope_headers
from realtoros_runtime.bus import build_bus
from realtoros_runtime.consuming import envelope_of
from realtoros_runtime.settings import ServiceSettings
from tests.chaos.conftest import ChaosServers
from tests.support.processes import ServiceProcess
from tests.support.samples import sample
from tests.support.waiting import eventually

pytestmark = pytest.mark.chaos

SENT = sample(EmailSent)


@pytest.fixture
def chaos_ns() -> Namespace:
    return Namespace(f"c{uuid.uuid4().hex[:10]}")


@pytest.fixture
async def consumer(chaos_servers: ChaosServers, chaos_ns: Namespace) -> AsyncIterator[list[str]]:
    settings = ServiceSettings(nats_url=chaos_servers.nats.url, nats_namespace=chaos_ns.name)  # type: ignore[arg-type]
    bus = build_bus("restartsvc", settings)
    seen: list[str] = []

    async def on_email_sent(event: EmailSent, msg: NatsMessage) -> None:
        seen.append(envelope_of(msg).id)

    bus.durable(chaos_ns.subject(EmailSent), producer="mailer", durable="restartsvc-sent")(
        on_email_sent
    )
    await bus.connect()
    await bus.broker.start()
    yield seen
    await bus.broker.stop()


async def publish(url: str, ns: Namespace, event_ids: list[str]) -> None:
    nc = await nats.connect(url)
    try:
        for event_id in event_ids:
            headers = envelope_headers(SENT, event_id=event_id, source="realtoros/test")
            await nc.jetstream().publish(ns.subject(EmailSent), encode(SENT), headers=headers)
    finally:
        await nc.close()


async def test_a_pull_consumer_resumes_after_each_nats_restart(
    chaos_servers: ChaosServers, chaos_ns: Namespace, consumer: list[str]
) -> None:
    url = chaos_servers.nats.url
    expected: list[str] = []
    for round_ in range(3):
        batch = [f"r{round_}-{n}" for n in range(20)]
        expected += batch
        await publish(url, chaos_ns, batch)
        await eventually(
            lambda: set(consumer) >= set(expected),  # noqa: B023 - read at once
            timeout=60,
            interval=0.1,
            what=f"round {round_} consumed",
        )
        chaos_servers.restart_nats()
    # and once more after the last restart
    await publish(url, chaos_ns, ["after"])
    await eventually(lambda: "after" in consumer, timeout=60, interval=0.1, what="resumed")


async def ready_status(url: str) -> int:
    try:
        async with httpx.AsyncClient(timeout=5) as http:
            return (await http.get(f"{url}/readyz")).status_code
    except httpx.HTTPError:
        return 0


async def test_readyz_reports_a_nats_outage_and_the_recovery(
    chaos_servers: ChaosServers, chaos_ns: Namespace, tmp_path: Path
) -> None:
    composer = ServiceProcess(
        "composer",
        {
            "NATS_URL": chaos_servers.nats.url,
            "NATS_NAMESPACE": chaos_ns.name,
            "COMPOSER_MODE": "template",
        },
        tmp_path,
    )
    composer.start()
    try:
        composer.wait_ready(60)
        chaos_servers.nats.kill()
        try:
            down: bool = await eventually(
                lambda: is_status(composer.base_url, 503), timeout=30, what="503"
            )
            assert down
        finally:
            chaos_servers.nats.start()
        up: bool = await eventually(
            lambda: is_status(composer.base_url, 200), timeout=60, what="200"
        )
        assert up
    finally:
        composer.stop()


async def is_status(url: str, expected: int) -> bool | None:
    return await ready_status(url) == expected or None
