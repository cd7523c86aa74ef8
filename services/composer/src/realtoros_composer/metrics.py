"""Prometheus metrics of the composer, served at GET /metrics.

They live in a registry of the app's own (two apps in one test process do not share
them), which also serves everything in prometheus_client's default registry: the
runtime's consumer/publisher metrics and the process collectors. The runtime mounts a
``/metrics`` of its own only when a service has not (``realtoros_runtime.metrics``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from faststream.asgi import AsgiResponse, get
from faststream.asgi.types import Scope
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, Counter, Histogram
from prometheus_client.exposition import generate_latest
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from realtoros_contracts import TokenUsage

LATENCY_BUCKETS = (0.1, 0.25, 0.5, 1, 2, 3, 5, 8, 13, 21, 34, 60)


class _DefaultRegistry(Collector):
    def collect(self) -> Iterable[Metric]:
        yield from REGISTRY.collect()


class ComposerMetrics:
    """Counters and histograms per model, in a registry of their own (one per app, so two
    apps in one test process do not share them)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.registry.register(_DefaultRegistry())
        r = self.registry
        self.tokens = Counter(
            "realtoros_composer_llm_tokens",
            "LLM tokens used, by model and kind (prompt, completion, cached).",
            ["model", "kind"],
            registry=r,
        )
        self.latency = Histogram(
            "realtoros_composer_llm_request_seconds",
            "Duration of one LLM HTTP request (any outcome).",
            ["model"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.requests = Counter(
            "realtoros_composer_llm_requests",
            "LLM requests by model and outcome (ok, rate_limited, server_error, "
            "client_error, timeout, connection_error).",
            ["model", "outcome"],
            registry=r,
        )
        self.composed = Counter(
            "realtoros_composer_emails_composed",
            "Emails composed, by composer, model and whether they need review.",
            ["composer", "model", "needs_review"],
            registry=r,
        )
        self.failed = Counter(
            "realtoros_composer_emails_failed",
            "Emails the composer gave up on (ComposeFailed), by model.",
            ["model"],
            registry=r,
        )

    def request(self, model: str, outcome: str, seconds: float) -> None:
        self.requests.labels(model, outcome).inc()
        self.latency.labels(model).observe(seconds)

    def usage(self, model: str, usage: TokenUsage | None) -> None:
        if usage is None:
            return
        self.tokens.labels(model, "prompt").inc(usage.prompt_tokens)
        self.tokens.labels(model, "completion").inc(usage.completion_tokens)
        self.tokens.labels(model, "cached").inc(usage.cached_tokens)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


def metrics_route(metrics: ComposerMetrics) -> Any:
    @get(include_in_schema=False)
    async def serve_metrics(scope: Scope) -> AsgiResponse:
        headers = {"content-type": CONTENT_TYPE_LATEST}
        return AsgiResponse(metrics.exposition(), 200, headers=headers)

    return serve_metrics
