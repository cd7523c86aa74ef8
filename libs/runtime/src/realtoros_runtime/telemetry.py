"""Tracing: one OpenTelemetry trace follows a follow-up through every service.

* ``setup_tracing(service)`` (called once by each entry point) installs the SDK with an
  OTLP/HTTP exporter when ``OTEL_EXPORTER_OTLP_ENDPOINT`` (or ``…_TRACES_ENDPOINT``) is
  set; the SDK reads the other standard ``OTEL_*`` variables itself (``OTEL_BSP_*``,
  ``OTEL_TRACES_SAMPLER``, ``OTEL_RESOURCE_ATTRIBUTES``, ``OTEL_SERVICE_NAME``…). When it
  is not set, nothing is installed: the API's no-op tracer only passes the incoming W3C
  ``traceparent`` on, so a trace still crosses a service that does not export.
* Publishing (``EventPublisher.publish_raw``) opens a PRODUCER span and writes its
  context into the message headers (``traceparent``/``tracestate``). Headers that already
  carry a context (a row of the CRM's outbox, written inside the consumer's span; a dead
  letter) continue that trace rather than the relay loop's empty one.
* Consuming: faststream's ``NatsTelemetryMiddleware`` extracts the context from the
  headers and opens the consume span (see ``instrument_broker``), only in a process that
  exports; one that does not only makes an incoming ``traceparent`` current (the
  consuming middleware), and publishes without a span: nothing is spent on tracing
  that nobody collects.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager
from typing import Any, TypeVar

from faststream.nats import NatsBroker
from opentelemetry import propagate, trace
from opentelemetry.trace import SpanKind

log = logging.getLogger(__name__)

TRACEPARENT = "traceparent"
TRACESTATE = "tracestate"
_ENDPOINT_VARS = ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT")

H = TypeVar("H", bound=MutableMapping[str, str])

_tracer = trace.get_tracer("realtoros_runtime")
_enabled = False


def tracing_enabled() -> bool:
    """Whether this process exports traces (``setup_tracing`` installed the SDK)."""
    return _enabled


def setup_tracing(service: str) -> bool:
    """Install the SDK and the OTLP/HTTP exporter when an endpoint is configured.

    ``service.name`` is ``realtoros-<service>`` unless ``OTEL_SERVICE_NAME`` says otherwise.
    Returns whether tracing is on. Idempotent.
    """
    global _enabled
    if _enabled:
        return True
    disabled = os.environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true"
    if disabled or not any(os.environ.get(name, "").strip() for name in _ENDPOINT_VARS):
        return False
    # Imported only here: a process without an endpoint never loads the SDK.
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    attributes: dict[str, Any] = {}
    if not os.environ.get("OTEL_SERVICE_NAME"):
        attributes[SERVICE_NAME] = f"realtoros-{service}"
    # OTEL_TRACES_SAMPLER, when set, is the SDK's to read; otherwise ours.
    sampler = None if os.environ.get("OTEL_TRACES_SAMPLER") else _no_client_roots()
    provider = TracerProvider(resource=Resource.create(attributes), sampler=sampler)
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    _enabled = True
    log.info("exporting traces over OTLP/HTTP as %s", provider.resource.attributes[SERVICE_NAME])
    return True


def _no_client_roots() -> Any:
    """Parent-based, and a CLIENT span without a parent is not traced: the outbox relay's
    and the probes' SQL polls would otherwise each be a trace of their own, twice a
    second, burying the follow-ups in Jaeger."""
    from opentelemetry.sdk.trace.sampling import (
        ALWAYS_ON,
        Decision,
        ParentBased,
        Sampler,
        SamplingResult,
    )

    class NoClientRoots(Sampler):
        def should_sample(self, *args: Any, **kwargs: Any) -> SamplingResult:
            kind = kwargs.get("kind", args[3] if len(args) > 3 else None)
            if kind is SpanKind.CLIENT:
                return SamplingResult(Decision.DROP)
            return ALWAYS_ON.should_sample(*args, **kwargs)

        def get_description(self) -> str:
            return "NoClientRoots"

    return ParentBased(root=NoClientRoots())


def instrument_broker(broker: NatsBroker) -> None:
    """Consume spans, outside the broker's other middlewares (inserted first: outermost),
    so the retry/dead-letter middleware and the handler run inside the span (the
    telemetry middleware extracts the context from the headers). Only when exporting."""
    if not _enabled:
        return
    from faststream.nats.opentelemetry import NatsTelemetryMiddleware

    broker.insert_middleware(NatsTelemetryMiddleware(include_messages_counters=False))


def inject_current_context(headers: H) -> H:
    """Write the current trace context into ``headers`` (no-op without an active span)."""
    propagate.inject(headers)
    return headers


@contextmanager
def publish_span(subject: str, headers: MutableMapping[str, str]) -> Iterator[None]:
    """A PRODUCER span around one publish; its context goes into ``headers`` (mutated)."""
    parent = propagate.extract(headers) if TRACEPARENT in headers else None
    with _tracer.start_as_current_span(
        f"{subject} publish",
        context=parent,
        kind=SpanKind.PRODUCER,
        attributes={
            "messaging.system": "nats",
            "messaging.operation": "publish",
            "messaging.destination.name": subject,
        },
    ):
        propagate.inject(headers)
        yield


@contextmanager
def publishing(subject: str, headers: MutableMapping[str, str]) -> Iterator[None]:
    """The span of one publish when exporting; otherwise only the current context (an
    incoming ``traceparent``) written into headers that carry none."""
    if _enabled:
        with publish_span(subject, headers):
            yield
        return
    if TRACEPARENT not in headers:
        propagate.inject(headers)
    yield


@contextmanager
def span(name: str, *, kind: SpanKind = SpanKind.INTERNAL, **attributes: Any) -> Iterator[Any]:
    """A span of this process's own work (the SDK records an escaping exception)."""
    with _tracer.start_as_current_span(name, kind=kind, attributes=attributes) as current:
        yield current


def current_ids() -> tuple[str, str] | None:
    """The current (trace id, span id) in hex, or None outside a valid span."""
    context = trace.get_current_span().get_span_context()
    if not context.is_valid:
        return None
    return format(context.trace_id, "032x"), format(context.span_id, "016x")
