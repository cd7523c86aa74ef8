"""Prometheus metrics: one helper for every service, one way to serve them.

``ServiceMetrics(service)`` (``Bus.metrics``, built by ``build_bus``; nothing registers at
import time) holds one registry per built service, so two services (or two mailers) in
one test process do not share counters. Every metric in it is named
``realtoros_<service>_<name>``: a service adds its own with ``counter``/``gauge``/
``histogram``/``callback_gauge`` (get-or-create), the runtime's own are in
``RuntimeMetrics``. The registry also serves the process collectors of the default
registry (``process_*``, ``python_*``). ``GET /metrics`` is ``scrape`` (the consumers'
backlog sampled now, then the registry rendered): ``worker_app`` mounts it on the worker
services; the CRM's FastAPI route calls the same function.

The runtime's metrics, labelled with the service (so one query can span services:
``{__name__=~"realtoros_.+_messages_consumed_total"}``):

* consuming (a broker middleware): messages consumed, failed (a delivery that will be
  retried), dead-lettered, and the handling time, per subject;
* publishing (``EventPublisher``): messages published and publish errors, per subject;
* at scrape time: the backlog of the service's durable consumers (``num_pending`` and
  ``num_ack_pending`` from ``consumer_info``), the dead-letter stream's depth and whether
  NATS is connected.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

from faststream.asgi import AsgiResponse, get
from faststream.asgi.types import Scope
from faststream.nats import NatsBroker
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

log = logging.getLogger(__name__)

SAMPLE_TIMEOUT = 1.0
METRICS_PATH = "/metrics"

M = TypeVar("M")


class _ProcessCollectors(Collector):
    """The default registry's collectors (process and Python runtime: nothing of ours
    registers there)."""

    def collect(self) -> Iterable[Metric]:
        yield from REGISTRY.collect()


class _CallbackGauge(Collector):
    def __init__(self, name: str, documentation: str, read: Callable[[], float]) -> None:
        self.name = name
        self.documentation = documentation
        self.read = read

    def collect(self) -> Iterable[Metric]:
        yield GaugeMetricFamily(self.name, self.documentation, value=float(self.read()))


class ServiceMetrics:
    """The metrics of one service (``realtoros_<service>_…``) in a registry of their own."""

    def __init__(self, service: str) -> None:
        self.service = service
        self.prefix = f"realtoros_{service}_"
        self.registry = CollectorRegistry()
        self.registry.register(_ProcessCollectors())
        self._own: dict[str, Any] = {}
        self.runtime = RuntimeMetrics(self)

    def _get(self, name: str, make: Callable[[str], M]) -> M:
        full = self.prefix + name
        if full not in self._own:
            self._own[full] = make(full)
        metric: M = self._own[full]
        return metric

    def counter(self, name: str, documentation: str, labels: Sequence[str] = ()) -> Counter:
        """The counter ``realtoros_<service>_<name>`` (exported with ``_total``)."""
        return self._get(
            name, lambda full: Counter(full, documentation, list(labels), registry=self.registry)
        )

    def gauge(self, name: str, documentation: str, labels: Sequence[str] = ()) -> Gauge:
        return self._get(
            name, lambda full: Gauge(full, documentation, list(labels), registry=self.registry)
        )

    def histogram(
        self,
        name: str,
        documentation: str,
        labels: Sequence[str] = (),
        buckets: Sequence[float] = Histogram.DEFAULT_BUCKETS,
    ) -> Histogram:
        return self._get(
            name,
            lambda full: Histogram(
                full, documentation, list(labels), buckets=buckets, registry=self.registry
            ),
        )

    def callback_gauge(self, name: str, documentation: str, read: Callable[[], float]) -> None:
        """A gauge whose value ``read()`` gives at scrape time."""

        def make(full: str) -> _CallbackGauge:
            collector = _CallbackGauge(full, documentation, read)
            self.registry.register(collector)
            return collector

        self._get(name, make).read = read

    def value(self, name: str, **labels: str) -> float | None:
        """The current value of a sample (``realtoros_<service>_`` + ``name``), for tests."""
        return self.registry.get_sample_value(self.prefix + name, labels)

    def render(self) -> tuple[bytes, str]:
        """The registry in Prometheus text format, and its content type."""
        return generate_latest(self.registry), CONTENT_TYPE_LATEST

    async def scrape(self, broker: NatsBroker) -> tuple[bytes, str]:
        """Sample the consumers, then render: what ``GET /metrics`` answers."""
        await self.runtime.sample_consumers(broker)
        return self.render()

    def route(self, broker: NatsBroker) -> Any:
        """``GET /metrics`` for a worker app (``AsgiFastStream``)."""

        @get(include_in_schema=False)
        async def metrics(scope: Scope) -> AsgiResponse:
            body, content_type = await self.scrape(broker)
            return AsgiResponse(body, 200, headers={"content-type": content_type})

        return metrics


class RuntimeMetrics:
    """What the runtime measures for every service."""

    def __init__(self, metrics: ServiceMetrics) -> None:
        self.service = metrics.service
        per_subject = ["service", "subject"]
        self.consumed = metrics.counter(
            "messages_consumed", "Messages handled and acked.", per_subject
        )
        self.failed = metrics.counter(
            "messages_failed",
            "Deliveries whose handling failed and that will be redelivered.",
            per_subject,
        )
        self.dead_lettered = metrics.counter(
            "messages_dead_lettered",
            "Messages given up on and published to the service's dead-letter subject.",
            per_subject,
        )
        self.handling_seconds = metrics.histogram(
            "message_handling_seconds",
            "Time from a message reaching the service's middleware to its outcome.",
            per_subject,
        )
        self.published = metrics.counter(
            "messages_published", "Messages published and acked by JetStream.", per_subject
        )
        self.publish_errors = metrics.counter(
            "publish_errors", "Publishes that failed after their retries.", per_subject
        )
        self.retried_transient = metrics.counter(
            "messages_retried_transient",
            "Deliveries nacked because a dependency was unavailable (never dead-lettered).",
            per_subject,
        )
        self.ticks_dropped = metrics.counter(
            "ticks_dropped",
            "Ticks that could not be handled and were dropped (the next tick covers them).",
            ["service", "reason"],
        )
        per_durable = ["service", "stream", "durable"]
        self.consumer_pending = metrics.gauge(
            "consumer_pending_messages",
            "Messages of the stream not yet delivered to the durable consumer (its lag).",
            per_durable,
        )
        self.consumer_ack_pending = metrics.gauge(
            "consumer_ack_pending_messages",
            "Messages delivered to the durable consumer and not yet acked.",
            per_durable,
        )
        self.nats_connected = metrics.gauge(
            "nats_connected", "1 while connected to NATS.", ["service"]
        )
        self.consumers_paused = metrics.gauge(
            "consumers_paused",
            "1 while the service's consumers wait for a dependency (a readiness check fails).",
            ["service"],
        )
        self.dead_letters = metrics.gauge(
            "dead_letters",
            "Messages in the dead-letter stream (every service reports the same stream).",
            ["stream"],
        )
        self.dead_letter_streams: set[str] = set()
        self._consuming: dict[str, ConsumeMetrics] = {}
        self._publishing: dict[str, PublishMetrics] = {}

    # The per-subject children are made once per subject: the per-message path only
    # increments (``labels()`` builds a key tuple and takes a lock on every call).
    def consuming(self, subject: str) -> ConsumeMetrics:
        found = self._consuming.get(subject)
        if found is None:
            found = self._consuming[subject] = ConsumeMetrics(self, subject)
        return found

    def publishing(self, subject: str) -> PublishMetrics:
        found = self._publishing.get(subject)
        if found is None:
            found = self._publishing[subject] = PublishMetrics(self, subject)
        return found

    async def sample_consumers(self, broker: NatsBroker) -> None:
        """Read the backlog of the service's durables into the gauges (at scrape time)."""
        service = self.service
        connected = broker._connection is not None and broker._connection.is_connected
        self.nats_connected.labels(service).set(1 if connected else 0)
        if not connected:
            return
        js = broker.connection.jetstream()

        async def one(stream: str, durable: str) -> None:
            try:
                info = await js.consumer_info(stream, durable, timeout=SAMPLE_TIMEOUT)
            except Exception as exc:  # a scrape must not fail because one is missing
                log.debug("consumer_info %s/%s: %s", stream, durable, exc)
                return
            self.consumer_pending.labels(service, stream, durable).set(info.num_pending or 0)
            self.consumer_ack_pending.labels(service, stream, durable).set(
                info.num_ack_pending or 0
            )

        async def depth(stream: str) -> None:
            try:
                info = await js.stream_info(stream)
            except Exception as exc:
                log.debug("stream_info %s: %s", stream, exc)
                return
            self.dead_letters.labels(stream).set(info.state.messages)

        await asyncio.gather(
            *(one(stream, durable) for stream, durable in durables(broker)),
            *(depth(stream) for stream in sorted(self.dead_letter_streams)),
        )


class ConsumeMetrics:
    """The consuming metrics of one (service, subject)."""

    __slots__ = ("consumed", "dead_lettered", "failed", "handling")

    def __init__(self, runtime: RuntimeMetrics, subject: str) -> None:
        labels = (runtime.service, subject)
        self.consumed = runtime.consumed.labels(*labels)
        self.failed = runtime.failed.labels(*labels)
        self.dead_lettered = runtime.dead_lettered.labels(*labels)
        self.handling = runtime.handling_seconds.labels(*labels)


class PublishMetrics:
    """The publishing metrics of one (service, subject): errors only when one happens."""

    __slots__ = ("_runtime", "_subject", "published")

    def __init__(self, runtime: RuntimeMetrics, subject: str) -> None:
        self._runtime, self._subject = runtime, subject
        self.published = runtime.published.labels(runtime.service, subject)

    def error(self) -> None:
        self._runtime.publish_errors.labels(self._runtime.service, self._subject).inc()


def durables(broker: NatsBroker) -> list[tuple[str, str]]:
    """(stream, durable) of every durable subscriber of the broker."""
    found = []
    for sub in broker.subscribers:
        stream = getattr(getattr(sub, "stream", None), "name", None)
        durable = getattr(getattr(sub, "config", None), "durable_name", None)
        if stream and durable:
            found.append((str(stream), str(durable)))
    return found
