"""The mailer's own metrics (``realtoros_mailer_…``), in the service's metrics
(``Bus.metrics``: served at ``GET /metrics`` with the runtime's)."""

from __future__ import annotations

from realtoros_runtime.metrics import ServiceMetrics


class MailerMetrics:
    def __init__(self, metrics: ServiceMetrics | None = None) -> None:
        # Without the service's (a sender built alone in a test): a registry of its own.
        self.service = metrics or ServiceMetrics("mailer")
        self.registry = self.service.registry
        self.emails = self.service.counter(
            "emails", "Emails by outcome: sent, failed, skipped (suppressed), unknown.", ["outcome"]
        )
        self.ses_sends = self.service.counter("ses_sends", "SendEmail calls SES accepted.")
        self.ses_throttles = self.service.counter("ses_throttles", "SendEmail calls SES throttled.")
        self.paused = self.service.gauge(
            "sending_paused", "1 while sending is paused (daily quota used up, account paused)."
        )
        self.notifications = self.service.counter(
            "ses_notifications", "SES event notifications received, by result.", ["result"]
        )
        for outcome in ("sent", "failed", "skipped", "unknown"):
            self.emails.labels(outcome)

    def render(self) -> bytes:
        return self.service.render()[0]
