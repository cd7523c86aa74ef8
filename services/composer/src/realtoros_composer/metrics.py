"""The composer's own metrics (``realtoros_composer_…``), in the service's metrics
(``Bus.metrics``: served at ``GET /metrics`` with the runtime's)."""

from __future__ import annotations

from realtoros_contracts import TokenUsage
from realtoros_runtime.metrics import ServiceMetrics

LATENCY_BUCKETS = (0.1, 0.25, 0.5, 1, 2, 3, 5, 8, 13, 21, 34, 60)


class ComposerMetrics:
    """Counters and histograms per model."""

    def __init__(self, metrics: ServiceMetrics | None = None) -> None:
        # Without the service's (an LLM caller built alone in a test): a registry of its own.
        m = self.service = metrics or ServiceMetrics("composer")
        self.registry = m.registry
        self.tokens = m.counter(
            "llm_tokens",
            "LLM tokens used, by model and kind (prompt, completion, cached).",
            ["model", "kind"],
        )
        self.latency = m.histogram(
            "llm_request_seconds",
            "Duration of one LLM HTTP request (any outcome).",
            ["model"],
            buckets=LATENCY_BUCKETS,
        )
        self.requests = m.counter(
            "llm_requests",
            "LLM requests by model and outcome (ok, rate_limited, server_error, "
            "client_error, timeout, connection_error).",
            ["model", "outcome"],
        )
        self.composed = m.counter(
            "emails_composed",
            "Emails composed, by composer, model and whether they need review.",
            ["composer", "model", "needs_review"],
        )
        self.failed = m.counter(
            "emails_failed",
            "Emails the composer gave up on (ComposeFailed), by model.",
            ["model"],
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
        return self.service.render()[0]
