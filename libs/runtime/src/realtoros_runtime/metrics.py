"""Prometheus metrics every service has, and the one registry they are served from.

Every metric of a process lives in prometheus_client's default registry (``REGISTRY``):
a service defines its own with ``counter``/``histogram``/``gauge`` here (get-or-create,
so building an app twice in one process does not register a name twice) or directly
with prometheus_client (module level, default registry). ``GET /metrics`` serves that
registry: on the worker apps through ``metrics_route``, on the CRM through ``scrape``.

The runtime's own metrics, labelled with the service:

* consuming (a broker middleware): messages consumed, failed (a delivery that will be
  retried), dead-lettered, and the handling time, per subject;
* publishing (``EventPublisher``): messages published and publish errors, per subject;
* at scrape time: the backlog of the service's durable consumers (``num_pending`` and
  ``num_ack_pending`` from ``consumer_info``) and whether NATS is connected.
"""

from __future__ import annotations

import asyncio
import logging
import time
import weakref
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any

from faststream import BaseMiddleware
from faststream.asgi import AsgiFastStream, AsgiResponse, get
from faststream.asgi.types import Scope
from faststream.message import AckStatus, StreamMessage
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

from realtoros_runtime.background import Periodic

log = logging.getLogger(__name__)

SAMPLE_TIMEOUT = 1.0
SAMPLE_INTERVAL = 10.0
METRICS_PATH = "/metrics"
_own: dict[str, Any] = {}


def counter(name: str, documentation: str, labels: Sequence[str] = ()) -> Counter:
    """The counter ``name`` of the default registry, created on first use."""
    if name not in _own:
        _own[name] = Counter(name, documentation, list(labels))
    metric: Counter = _own[name]
    return metric


def gauge(name: str, documentation: str, labels: Sequence[str] = ()) -> Gauge:
    if name not in _own:
        _own[name] = Gauge(name, documentation, list(labels))
    metric: Gauge = _own[name]
    return metric


def histogram(
    name: str,
    documentation: str,
    labels: Sequence[str] = (),
    buckets: Sequence[float] = Histogram.DEFAULT_BUCKETS,
) -> Histogram:
    if name not in _own:
        _own[name] = Histogram(name, documentation, list(labels), buckets=buckets)
    metric: Histogram = _own[name]
    return metric


class _CallbackGauge(Collector):
    def __init__(self, name: str, documentation: str) -> None:
        self.name = name
        self.documentation = documentation
        self.read: Callable[[], float] | None = None

    def collect(self) -> Iterable[Metric]:
        if self.read is not None:
            yield GaugeMetricFamily(self.name, self.documentation, value=float(self.read()))


def callback_gauge(name: str, documentation: str, read: Callable[[], float]) -> None:
    """A gauge whose value ``read()`` gives at scrape time (the last app built wins)."""
    if name not in _own:
        _own[name] = _CallbackGauge(name, documentation)
        REGISTRY.register(_own[name])
    _own[name].read = read


CONSUMED = counter(
    "realtoros_messages_consumed", "Messages handled and acked.", ["service", "subject"]
)
FAILED = counter(
    "realtoros_messages_failed",
    "Deliveries whose handling failed and that will be redelivered.",
    ["service", "subject"],
)
DEAD_LETTERED = counter(
    "realtoros_messages_dead_lettered",
    "Messages given up on and published to the service's dead-letter subject.",
    ["service", "subject"],
)
HANDLING_SECONDS = histogram(
    "realtoros_message_handling_seconds",
    "Time from a message reaching the service's middleware to its outcome.",
    ["service", "subject"],
)
PUBLISHED = counter(
    "realtoros_messages_published",
    "Messages published and acked by JetStream.",
    ["service", "subject"],
)
PUBLISH_ERRORS = counter(
    "realtoros_publish_errors",
    "Publishes that failed after their retries.",
    ["service", "subject"],
)
CONSUMER_PENDING = gauge(
    "realtoros_consumer_pending_messages",
    "Messages of the stream not yet delivered to the durable consumer (its lag).",
    ["service", "stream", "durable"],
)
CONSUMER_ACK_PENDING = gauge(
    "realtoros_consumer_ack_pending_messages",
    "Messages delivered to the durable consumer and not yet acked.",
    ["service", "stream", "durable"],
)
NATS_CONNECTED = gauge("realtoros_nats_connected", "1 while connected to NATS.", ["service"])
DEAD_LETTER_DEPTH = gauge(
    "realtoros_dead_letters",
    "Messages in the dead-letter stream (every service reports the same stream).",
    ["stream"],
)
_dead_letter_streams: set[str] = set()


def watch_dead_letters(stream: str) -> None:
    """Report the depth of ``stream`` with the consumers' backlog."""
    _dead_letter_streams.add(stream)


def consume_metrics(service: str) -> type[BaseMiddleware]:
    """Counts each delivery's outcome: what the retry/dead-letter middleware did to the
    message (nacked: failed, rejected: dead-lettered), else consumed."""

    class ConsumeMetrics(BaseMiddleware):
        async def consume_scope(
            self,
            call_next: Callable[[StreamMessage[Any]], Awaitable[Any]],
            msg: StreamMessage[Any],
        ) -> Any:
            subject = str(getattr(msg.raw_message, "subject", ""))
            started = time.perf_counter()
            try:
                result = await call_next(msg)
            except Exception:
                FAILED.labels(service, subject).inc()
                raise
            finally:
                HANDLING_SECONDS.labels(service, subject).observe(time.perf_counter() - started)
            if msg.committed == AckStatus.REJECTED:
                DEAD_LETTERED.labels(service, subject).inc()
            elif msg.committed == AckStatus.NACKED:
                FAILED.labels(service, subject).inc()
            else:
                CONSUMED.labels(service, subject).inc()
            return result

    return ConsumeMetrics


def durables(broker: NatsBroker) -> list[tuple[str, str]]:
    """(stream, durable) of every durable subscriber of the broker."""
    found = []
    for sub in broker.subscribers:
        stream = getattr(getattr(sub, "stream", None), "name", None)
        durable = getattr(getattr(sub, "config", None), "durable_name", None)
        if stream and durable:
            found.append((str(stream), str(durable)))
    return found


async def sample_consumers(broker: NatsBroker, service: str) -> None:
    """Read the backlog of the service's durables into the gauges (at scrape time)."""
    connected = broker._connection is not None and broker._connection.is_connected
    NATS_CONNECTED.labels(service).set(1 if connected else 0)
    if not connected:
        return
    js = broker.connection.jetstream()

    async def one(stream: str, durable: str) -> None:
        try:
            info = await js.consumer_info(stream, durable, timeout=SAMPLE_TIMEOUT)
        except Exception as exc:  # a scrape must not fail because one consumer is missing
            log.debug("consumer_info %s/%s: %s", stream, durable, exc)
            return
        CONSUMER_PENDING.labels(service, stream, durable).set(info.num_pending or 0)
        CONSUMER_ACK_PENDING.labels(service, stream, durable).set(info.num_ack_pending or 0)

    async def depth(stream: str) -> None:
        try:
            info = await js.stream_info(stream)
        except Exception as exc:
            log.debug("stream_info %s: %s", stream, exc)
            return
        DEAD_LETTER_DEPTH.labels(stream).set(info.state.messages)

    await asyncio.gather(
        *(one(stream, durable) for stream, durable in durables(broker)),
        *(depth(stream) for stream in sorted(_dead_letter_streams)),
    )


def render(registry: CollectorRegistry = REGISTRY) -> tuple[bytes, str]:
    """The registry in Prometheus text format, and its content type."""
    return generate_latest(registry), CONTENT_TYPE_LATEST


async def scrape(
    broker: NatsBroker, service: str, registry: CollectorRegistry = REGISTRY
) -> tuple[bytes, str]:
    """Sample the consumers, then render (what ``GET /metrics`` answers)."""
    await sample_consumers(broker, service)
    return render(registry)


def metrics_route(broker: NatsBroker, service: str, registry: CollectorRegistry = REGISTRY) -> Any:
    """``GET /metrics`` for a worker app (``AsgiFastStream``)."""

    @get(include_in_schema=False)
    async def metrics(scope: Scope) -> AsgiResponse:
        body, content_type = await scrape(broker, service, registry)
        return AsgiResponse(body, 200, headers={"content-type": content_type})

    return metrics


_including: weakref.WeakSet[CollectorRegistry] = weakref.WeakSet()


class _DefaultRegistry(Collector):
    """Everything in the default registry, for a service's own registry to include."""

    def collect(self) -> Iterable[Metric]:
        yield from REGISTRY.collect()


def include_runtime_metrics(registry: CollectorRegistry) -> CollectorRegistry:
    """Make a service's own registry (served by its own ``/metrics``) also serve the
    runtime's metrics and the process collectors of the default registry."""
    if registry is not REGISTRY and registry not in _including:  # idempotent
        registry.register(_DefaultRegistry())
        _including.add(registry)
    return registry


def consumer_sampler(
    broker: NatsBroker, service: str, interval: float = SAMPLE_INTERVAL
) -> Periodic:
    """Samples the consumers' backlog every ``interval`` seconds, for ``/metrics`` routes
    that cannot wait on NATS while rendering (a service's own synchronous one)."""
    return Periodic(
        f"{service}-consumer-sampler", lambda: sample_consumers(broker, service), interval
    )


def install_metrics(app: AsgiFastStream, broker: NatsBroker, service: str) -> None:
    """``GET /metrics`` on a worker app: the default registry, unless the service mounted
    its own route there before the app started (which then should include the runtime's
    metrics: ``include_runtime_metrics``); and the periodic consumer sampler."""
    sampler = consumer_sampler(broker, service)

    async def started() -> None:
        if not any(path == METRICS_PATH for path, _ in app.routes):
            app.mount(METRICS_PATH, metrics_route(broker, service))
        sampler.start()

    app.after_startup(started)
    app.on_shutdown(sampler.stop)
