"""The composer under test: its real app and bus on the test's NATS namespace, with the
OpenAI SDK pointed at the in-process fake LLM."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import pytest
from nats.aio.client import Client as NatsClient
from nats.js import JetStreamContext

from realtoros_composer.app import DURABLE, ComposerService, build_composer
from realtoros_composer.settings import ComposerSettings
from realtoros_contracts import (
    Envelope,
    Event,
    Namespace,
    TaskDue,
    decode,
    envelope_headers,
)
from realtoros_runtime.publisher import EventPublisher
from tests.support.fake_llm import FakeLLM
from tests.support.samples import task_due
from tests.support.waiting import eventually

T = TypeVar("T")
E = TypeVar("E", bound=Event)


@dataclass
class Published:
    envelope: Envelope
    event: Event
    headers: dict[str, str]


@dataclass
class Harness:
    """A running composer and the test's view of its namespace."""

    service: ComposerService
    ns: Namespace
    js: JetStreamContext
    crm: EventPublisher

    async def publish_task(self, task: TaskDue, event_id: str | None = None) -> str:
        event_id = event_id or f"due:{task.task_id}:{uuid.uuid4().hex[:6]}"
        await self.crm.publish(task, event_id=event_id)
        return event_id

    async def publish_raw_task(self, body: bytes, headers: dict[str, str]) -> None:
        stream = self.ns.stream_name("crm")
        await self.crm.publish_raw(self.ns.subject(TaskDue), body, headers, stream=stream)

    async def stream(self, producer: str) -> list[tuple[str, dict[str, str], bytes]]:
        """Every message in a producer's stream: (subject, headers, body)."""
        name = self.ns.stream_name(producer)
        info = await self.js.stream_info(name)
        out = []
        for seq in range(info.state.first_seq, info.state.last_seq + 1):
            if info.state.messages == 0:
                break
            msg = await self.js.get_msg(name, seq)
            out.append((msg.subject or "", dict(msg.headers or {}), msg.data or b""))
        return out

    async def composer_events(self) -> list[Published]:
        events = []
        for subject, headers, body in await self.stream("composer"):
            event_cls = self.ns.event_for_subject(subject)
            assert event_cls is not None, subject
            envelope, event = decode(event_cls, headers, body)
            events.append(Published(envelope, event, headers))
        return events

    async def wait_for(self, event_cls: type[E], count: int = 1, timeout: float = 10.0) -> list[E]:
        async def found() -> list[E]:
            events = [p.event for p in await self.composer_events()]
            matching = [e for e in events if isinstance(e, event_cls)]
            return matching if len(matching) >= count else []

        return await eventually(found, timeout=timeout)

    async def wait_processed(self, timeout: float = 10.0, durable: str = DURABLE) -> None:
        """Until the composer has acked (or terminated) everything published so far."""

        stream = self.ns.stream_name("crm")

        async def done() -> bool:
            last = (await self.js.stream_info(stream)).state.last_seq
            info = await self.js.consumer_info(stream, durable)
            return bool(
                info.num_pending == 0
                and info.num_ack_pending == 0
                and (info.delivered.stream_seq >= last or durable != DURABLE)
            )

        await eventually(done, timeout=timeout)


ComposerFactory = Callable[..., Awaitable[Harness]]


@pytest.fixture
async def fake_llm() -> AsyncIterator[FakeLLM]:
    async with FakeLLM() as server:
        yield server


@pytest.fixture
async def start_composer(
    nats_url: str, namespace: Namespace, nats_client: NatsClient, fake_llm: FakeLLM
) -> AsyncIterator[ComposerFactory]:
    """``await start_composer(**settings)``: the composer's app built from settings that
    point at this test's NATS namespace and fake LLM, with its broker started."""
    started: list[ComposerService] = []

    async def start(**overrides: Any) -> Harness:
        values: dict[str, Any] = {
            "nats_url": nats_url,
            "nats_namespace": namespace.name,
            "composer_mode": "auto",
            "openai_api_key": "test-key",
            "openai_base_url": fake_llm.base_url,
            "openai_model": "gpt-4o-mini",
            "llm_max_retries": 2,
            "llm_timeout_seconds": 5.0,
            "llm_max_concurrency": 8,
            "llm_structured_output": "json_schema",
            "max_deliveries": 3,
            **overrides,
        }
        settings = ComposerSettings(_env_file=None, **values)
        service = build_composer(settings)
        await service.bus.connect()
        await service.open()
        await service.bus.broker.start()
        started.append(service)
        crm = EventPublisher(service.bus.broker, namespace, source="realtoros/crm")
        return Harness(service, namespace, nats_client.jetstream(), crm)

    yield start
    for service in started:
        await service.bus.broker.stop()
        if service.llm_client is not None:
            await service.llm_client.close()


def raw_task_headers(event_id: str) -> dict[str, str]:
    """A valid TaskDue envelope, for publishing a body of the test's choosing."""
    return envelope_headers(task_due(), event_id=event_id, source="realtoros/crm")
