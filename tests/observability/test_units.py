"""The pieces in one process, without an exporter: nothing installed, the W3C context
passed on through publishing, JSON log lines with the ids of the current span."""

from __future__ import annotations

import json
import logging

import pytest
from opentelemetry import trace
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags

from realtoros_runtime.logs import JsonFormatter
from realtoros_runtime.telemetry import (
    inject_current_context,
    publish_span,
    setup_tracing,
    tracing_enabled,
)

TRACE_ID = 0x0AF7651916CD43DD8448EB211C80319C
SPAN_ID = 0xB7AD6B7169203331
TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


def remote_span() -> NonRecordingSpan:
    return NonRecordingSpan(
        SpanContext(TRACE_ID, SPAN_ID, is_remote=True, trace_flags=TraceFlags(1))
    )


def test_without_an_endpoint_nothing_is_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_ENDPOINT", raising=False)
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", raising=False)
    assert setup_tracing("crm") is False
    assert not tracing_enabled()
    assert type(trace.get_tracer_provider()).__name__ == "ProxyTracerProvider"


def test_a_publish_passes_on_the_context_of_its_headers_or_the_current_one() -> None:
    relayed = {"ce-id": "1", "traceparent": TRACEPARENT}
    with publish_span("ns.crm.task.due", relayed):
        pass
    assert relayed["traceparent"] == TRACEPARENT
    fresh: dict[str, str] = {"ce-id": "2"}
    with trace.use_span(remote_span()), publish_span("ns.composer.email.composed", fresh):
        pass
    assert fresh["traceparent"] == TRACEPARENT
    outside: dict[str, str] = {"ce-id": "3"}
    with publish_span("ns.scheduler.tick.due-tasks", outside):
        pass
    assert "traceparent" not in outside
    assert inject_current_context({"ce-id": "4"}) == {"ce-id": "4"}


def test_json_lines_carry_the_ids_of_the_current_span() -> None:
    formatter = JsonFormatter("mailer")
    record = logging.LogRecord(
        "realtoros_mailer.sender", logging.INFO, __file__, 1, "sent %s", ("e1",), None
    )
    with trace.use_span(remote_span()):
        entry = json.loads(formatter.format(record))
    assert entry["service"] == "mailer"
    assert entry["logger"] == "realtoros_mailer.sender"
    assert entry["level"] == "INFO"
    assert entry["message"] == "sent e1"
    assert entry["trace_id"] == f"{TRACE_ID:032x}"
    assert entry["span_id"] == f"{SPAN_ID:016x}"
    assert entry["time"].endswith("+00:00")
    outside = json.loads(formatter.format(record))
    assert "trace_id" not in outside
