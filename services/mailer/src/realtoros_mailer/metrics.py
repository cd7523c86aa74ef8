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
        self._inbound()

    def _inbound(self) -> None:
        """Inbound mail (replies): named ``realtoros_mailer_inbound_…`` from the start."""
        self.inbound_received = self.service.counter(
            "inbound_received",
            "Inbound emails received, by door: smtp (the local server) or ses (SNS).",
            ["door"],
        )
        self.inbound_classified = self.service.counter(
            "inbound_classified",
            "Inbound emails by what they were: reply, auto-reply, dsn, unsubscribe, or "
            "rejected (reason: unreadable, forged-token, dsn-unmatched, not-our-domain).",
            ["kind", "reason"],
        )
        self.inbound_forwarded = self.service.counter(
            "inbound_forwarded",
            "Replies forwarded to the agent, by result: sent, suppressed (the agent's "
            "address bounced or complained), refused, duplicate, no-context, invalid.",
            ["result"],
        )
        self.inbound_errors = self.service.counter(
            "inbound_errors",
            "Inbound emails that could not be handled (the sender or SNS retries them).",
        )
        self.inbound_held = self.service.counter(
            "inbound_sends_held",
            "Emails not sent because the client replied after they were written (EmailHeld).",
        )
        for door in ("smtp", "ses"):
            self.inbound_received.labels(door)
        for kind in ("reply", "auto-reply", "dsn", "unsubscribe"):
            self.inbound_classified.labels(kind, "")
        for reason in ("unreadable", "forged-token", "dsn-unmatched", "not-our-domain"):
            self.inbound_classified.labels("rejected", reason)
        for result in ("sent", "suppressed", "refused", "duplicate", "no-context", "invalid"):
            self.inbound_forwarded.labels(result)

    def render(self) -> bytes:
        return self.service.render()[0]
