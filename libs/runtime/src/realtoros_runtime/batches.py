"""Batch consumers: for work that is per-row database writes, the handler gets a batch.

``batch_durable(bus, subject, producer=…, durable=…)(handler)`` registers
``async def handler(batch: list[Received]) -> None``: up to ``batch_size`` messages fetched
from the durable pull consumer at once (what is there: it does not wait to fill a batch),
each validated once (envelope and body, as every consumer's: ``delivery.validate``). The
handler records the whole batch in one transaction; when it returns, every message is
acked (pipelined: an ack is a publish, none waits for the server). When it raises:

* a dependency is unavailable (``Fault.TRANSIENT``): the readiness gate closes and the
  batch is nacked with the outage's backoff, as a single message would be;
* anything else: the batch is split in two and each half handed to the handler again, so
  one bad message is isolated (log2(n) extra calls) and its neighbours are recorded; the
  message that fails alone gets the consumer policy (``ConsumePolicy``: retried with
  backoff, then dead-lettered with the reason).

A message that fails validation never reaches the handler: dead-lettered at once. The
handler must therefore be all-or-nothing (one transaction) and idempotent by event id, as
every handler is (a redelivery, a split re-runs what was rolled back).

The consumer runs as a task of its own, started with the broker's other subscribers by
``worker_app`` (or by the service's lifespan: ``start_batches``/``stop_batches``).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from faststream.message import AckStatus
from faststream.nats.message import NatsMessage
from nats.aio.msg import Msg
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from realtoros_contracts import Envelope, Event
from realtoros_runtime.bus import Bus
from realtoros_runtime.delivery import validate
from realtoros_runtime.faults import Fault, classify
from realtoros_runtime.jetstream_ready import DurableSpec
from realtoros_runtime.metrics import ConsumeMetrics

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Received:
    """One message of a batch: its envelope and its validated event."""

    envelope: Envelope
    event: Event
    msg: NatsMessage


BatchHandler = Callable[[list[Received]], Awaitable[None]]


class BatchConsumer:
    def __init__(
        self,
        bus: Bus,
        handler: BatchHandler,
        *,
        subject: str,
        stream: str,
        durable: str,
        batch_size: int,
        max_wait: float,
        ack_wait: float,
    ) -> None:
        self.bus = bus
        self.handler = handler
        self.subject = subject
        self.stream = stream
        self.durable = durable
        self.batch_size = batch_size
        self.max_wait = max_wait
        self.config = ConsumerConfig(
            ack_policy=AckPolicy.EXPLICIT,
            ack_wait=ack_wait,
            max_deliver=-1,  # bounded by the consumer policy, which dead-letters
            deliver_policy=DeliverPolicy.ALL,
            max_ack_pending=max(1000, batch_size * 4),
        )
        self.calls = 0
        """Handler calls so far (a split adds some): for tests and the logs."""
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        # The durable exists: ``Bus.connect`` created it (with the others, waiting out a
        # JetStream election).
        js = self.bus.broker.connection.jetstream()
        sub = await js.pull_subscribe_bind(
            durable=self.durable,
            stream=self.stream,
            inbox_prefix=f"{self.bus.inbox_prefix}.".encode(),
        )
        self._task = asyncio.create_task(self._run(sub), name=f"batch-{self.durable}")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def _run(self, sub: JetStreamContext.PullSubscription) -> None:
        readiness = self.bus.readiness
        while True:
            if not readiness.is_open:
                await readiness.wait_until_open(_nothing)
            try:
                raw = await sub.fetch(self.batch_size, timeout=self.max_wait)
            except (TimeoutError, NatsTimeoutError):
                continue  # nothing there
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # NATS away: the client reconnects
                log.warning("%s: fetch failed (%s); trying again", self.durable, exc)
                await asyncio.sleep(1.0)
                continue
            try:
                await self.consume(raw)
            except asyncio.CancelledError:
                raise
            except Exception:  # unacked messages come back after ack_wait
                log.exception("%s: a batch could not be handled", self.durable)

    async def consume(self, raw: list[Msg]) -> None:
        """Validate, hand the valid messages to the handler, ack what it recorded."""
        consuming = self.bus.consuming
        counted = consuming.metrics.consuming(self.subject)
        started = time.perf_counter()
        valid: list[Received] = []
        for m in raw:
            msg = NatsMessage(raw_message=m, body=m.data, headers=m.header or {}, reply_to="")
            try:
                envelope, event = validate(consuming.ns, msg)
            except Exception as exc:
                await consuming.failed(msg, _key(msg), exc)
                _count_failure(counted, msg)
                continue
            valid.append(Received(envelope, event, msg))
        if valid:
            await self._apply(valid)
        elapsed = time.perf_counter() - started
        for _ in raw:
            counted.handling.observe(elapsed)

    async def _apply(self, batch: list[Received]) -> None:
        consuming = self.bus.consuming
        counted = consuming.metrics.consuming(self.subject)
        self.calls += 1
        try:
            await self.handler(batch)
        except Exception as exc:
            if classify(exc) is Fault.TRANSIENT or len(batch) == 1:
                for item in batch:
                    await consuming.failed(item.msg, _key(item.msg), exc)
                    _count_failure(counted, item.msg)
                return
            half = len(batch) // 2
            log.info("%s: a batch of %d failed; splitting it", self.durable, len(batch))
            await self._apply(batch[:half])
            await self._apply(batch[half:])
            return
        for item in batch:
            await item.msg.ack()  # a publish each, flushed together: no round trip
        counted.consumed.inc(len(batch))
        if consuming.failures:
            for item in batch:
                consuming.failures.forget(_key(item.msg))


def _count_failure(counted: ConsumeMetrics, msg: NatsMessage) -> None:
    """What the policy did to a message that failed: dead-lettered, else to be retried."""
    if msg.committed is AckStatus.REJECTED:
        counted.dead_lettered.inc()
    else:
        counted.failed.inc()


def _key(msg: NatsMessage) -> tuple[str, int]:
    meta = msg.raw_message.metadata
    return (meta.consumer or "", meta.sequence.stream)


async def _nothing() -> None:
    return None


def batch_durable(
    bus: Bus,
    subject: str,
    *,
    producer: str,
    durable: str,
    batch_size: int = 100,
    max_wait: float = 0.5,
    ack_wait: float = 60.0,
) -> Callable[[BatchHandler], BatchConsumer]:
    """A durable pull consumer whose handler gets batches (see the module's docstring)."""
    if not durable.startswith(f"{bus.service}-"):
        raise ValueError(f"durable {durable!r} must start with {bus.service + '-'!r}")
    bus.publications.declare_dead_letters()

    def register(handler: BatchHandler) -> BatchConsumer:
        consumer = BatchConsumer(
            bus,
            handler,
            subject=subject,
            stream=bus.ns.stream_name(producer),
            durable=durable,
            batch_size=batch_size,
            max_wait=max_wait,
            ack_wait=ack_wait,
        )
        bus.durables.append(DurableSpec(consumer.stream, subject, durable, consumer.config))
        bus.batches.append(consumer)
        return consumer

    return register


async def start_batches(bus: Bus) -> None:
    for consumer in bus.batches:
        await consumer.start()


async def stop_batches(bus: Bus) -> None:
    for consumer in bus.batches:
        await consumer.stop()
