"""Prometheus metrics of the mailer, served at ``GET /metrics``. Each built mailer has its
own registry, so several in one process (tests) do not collide; the service's app adds
the runtime's metrics (consuming, publishing, consumer backlog) to it."""

from __future__ import annotations

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    generate_latest,
)

from realtoros_mailer.http import Receive, Scope, Send, respond


class MailerMetrics:
    def __init__(self) -> None:
        # build_app adds the runtime's metrics to it (include_runtime_metrics).
        self.registry = CollectorRegistry()
        self.emails = Counter(
            "mailer_emails",
            "Emails by outcome: sent, failed, skipped (suppressed), unknown.",
            ["outcome"],
            registry=self.registry,
        )
        self.ses_sends = Counter(
            "mailer_ses_sends", "SendEmail calls SES accepted.", registry=self.registry
        )
        self.ses_throttles = Counter(
            "mailer_ses_throttles", "SendEmail calls SES throttled.", registry=self.registry
        )
        self.paused = Gauge(
            "mailer_sending_paused",
            "1 while sending is paused (daily quota used up, account paused).",
            registry=self.registry,
        )
        self.notifications = Counter(
            "mailer_ses_notifications",
            "SES event notifications received, by result.",
            ["result"],
            registry=self.registry,
        )
        for outcome in ("sent", "failed", "skipped", "unknown"):
            self.emails.labels(outcome)
        self._inbound()

    def _inbound(self) -> None:
        """Inbound mail (replies): named ``realtoros_mailer_inbound_…`` from the start."""
        self.inbound_received = Counter(
            "realtoros_mailer_inbound_received",
            "Inbound emails received, by door: smtp (the local server) or ses (SNS).",
            ["door"],
            registry=self.registry,
        )
        self.inbound_classified = Counter(
            "realtoros_mailer_inbound_classified",
            "Inbound emails by what they were: reply, auto-reply, dsn, unsubscribe, or "
            "rejected (reason: unreadable, forged-token, dsn-unmatched, not-our-domain).",
            ["kind", "reason"],
            registry=self.registry,
        )
        self.inbound_forwarded = Counter(
            "realtoros_mailer_inbound_forwarded",
            "Replies forwarded to the agent, by result: sent, suppressed (the agent's "
            "address bounced or complained), refused, duplicate, no-context, invalid.",
            ["result"],
            registry=self.registry,
        )
        self.inbound_errors = Counter(
            "realtoros_mailer_inbound_errors",
            "Inbound emails that could not be handled (the sender or SNS retries them).",
            registry=self.registry,
        )
        self.inbound_held = Counter(
            "realtoros_mailer_inbound_sends_held",
            "Emails not sent because the client replied after they were written (EmailHeld).",
            registry=self.registry,
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
        return generate_latest(self.registry)

    async def asgi(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope.get("method") not in ("GET", "HEAD"):
            await respond(send, 405, b"method not allowed\n")
            return
        await respond(send, 200, self.render(), content_type=CONTENT_TYPE_LATEST)
