"""Composition root: the bus, the ledger, the suppression set, the transport (with its one
SES client), the handlers, the SES notification receiver and the ASGI app (/healthz,
/readyz, /metrics, /ses/notifications, /asyncapi). Nothing is built at import time."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from typing import Any

import aioboto3
import httpx
from faststream.asgi import AsgiFastStream
from faststream.asgi.types import ASGIApp

from realtoros_mailer.handlers import register_handlers
from realtoros_mailer.http import Receive, Scope, Send, respond
from realtoros_mailer.inbound.wiring import Inbound, build_inbound, register_inbound_consumers
from realtoros_mailer.ledger import SendLedger
from realtoros_mailer.metrics import MailerMetrics
from realtoros_mailer.pacing import SendingPause
from realtoros_mailer.quota import SendQuota
from realtoros_mailer.receiver import NotificationReceiver
from realtoros_mailer.sender import Pacing, Sender
from realtoros_mailer.settings import MailerSettings
from realtoros_mailer.sns import SnsVerifier
from realtoros_mailer.suppression import SuppressionSet
from realtoros_mailer.tracing import traced_transport
from realtoros_mailer.transports import Transport
from realtoros_mailer.transports.file import FileTransport
from realtoros_mailer.transports.ses import SesTransport, client_config
from realtoros_mailer.transports.smtp import SmtpTransport
from realtoros_runtime.consuming import RetryPolicy
from realtoros_runtime.metrics import include_runtime_metrics
from realtoros_runtime.worker import Bus, build_bus, worker_app

Hook = Callable[[], Awaitable[None]]
AnyTransport = FileTransport | SesTransport | SmtpTransport

DESCRIPTION = (
    "Sends each composed (automatic, no review) or approved email at most once, through "
    "Amazon SES, SMTP or the local outbox, skipping suppressed addresses, and reports "
    "EmailSent or EmailFailed; turns SES notifications (POST /ses/notifications, via SNS) "
    "into EmailDelivered, EmailBounced, EmailComplained, EmailOpened, EmailClicked…; "
    "turns clients' replies (SES receiving via SNS, or the inbound SMTP server) into "
    "ClientReplied / AutoReplyReceived and forwards replies to the agent"
)


@dataclass
class Mailer:
    """The built service. ``open``/``close`` are the resources beyond the broker (the
    buckets, the SES client): the app runs them in its lifespan; tests that drive the
    broker themselves call them around ``broker.start()``/``stop()``."""

    bus: Bus
    ledger: SendLedger
    suppression: SuppressionSet
    sender: Sender
    receiver: NotificationReceiver
    metrics: MailerMetrics
    transport: AnyTransport
    inbound: Inbound | None
    open: Hook
    close: Hook
    app: AsgiFastStream = field(init=False)  # built from the rest: see build_mailer


def session_kwargs(settings: MailerSettings) -> dict[str, Any]:
    """Explicit keys when given (they may come from the secrets directory, which boto does
    not read); otherwise a profile, otherwise boto's own chain (web identity, container)."""
    kwargs: dict[str, Any] = {"region_name": settings.aws_region}
    if settings.aws_access_key_id and settings.aws_secret_access_key:
        kwargs["aws_access_key_id"] = settings.aws_access_key_id.get_secret_value()
        kwargs["aws_secret_access_key"] = settings.aws_secret_access_key.get_secret_value()
        if settings.aws_session_token:
            kwargs["aws_session_token"] = settings.aws_session_token.get_secret_value()
    elif settings.aws_profile:
        kwargs["profile_name"] = settings.aws_profile
    return kwargs


def _ses_transport(
    settings: MailerSettings, resources: AsyncExitStack
) -> tuple[SesTransport, Hook]:
    transport = SesTransport(
        from_address=settings.from_address, configuration_set=settings.ses_configuration_set
    )
    session = aioboto3.Session(**session_kwargs(settings))
    endpoint = str(settings.ses_endpoint_url) if settings.ses_endpoint_url else None

    async def open_client() -> None:
        # One client for the life of the process: it holds the connection pool.
        client = session.client(
            "sesv2",
            region_name=settings.aws_region,
            endpoint_url=endpoint,
            config=client_config(settings.ses_connect_timeout, settings.ses_read_timeout),
        )
        transport.attach(await resources.enter_async_context(client))
        resources.callback(transport.attach, None)

    return transport, open_client


def _transport(settings: MailerSettings, resources: AsyncExitStack) -> tuple[AnyTransport, Hook]:
    if settings.mail_transport == "ses":
        return _ses_transport(settings, resources)
    if settings.mail_transport == "smtp":
        password = settings.smtp_password.get_secret_value() if settings.smtp_password else None
        smtp = SmtpTransport(
            host=settings.smtp_host,
            port=settings.smtp_port,
            username=settings.smtp_username,
            password=password,
            starttls=settings.smtp_starttls,
            timeout=settings.smtp_timeout,
        )

        async def nothing() -> None:
            return None

        return smtp, nothing
    file = FileTransport(settings.mail_outbox_dir)
    return file, file.start


def _readiness(
    ledger: SendLedger, suppression: SuppressionSet, transport: AnyTransport, sender: Sender
) -> Callable[[], Awaitable[str | None]]:
    async def ready() -> str | None:
        if not ledger.ready or not suppression.ready:
            return "send ledger or suppression set: not open"
        if isinstance(transport, SesTransport) and not transport.ready:
            return "ses: client not started"
        # A pause is not unreadiness: the replica must keep receiving SES notifications
        # (POST /ses/notifications), so it is reported by /status and the metrics instead.
        return None

    return ready


def _status(sender: Sender, settings: MailerSettings) -> ASGIApp:
    async def status(scope: Scope, receive: Receive, send: Send) -> None:
        pause, quota = sender.pacing.pause, sender.pacing.limiter
        left = pause.remaining()
        sender.metrics.paused.set(1 if left > 0 else 0)
        body = {
            "transport": settings.mail_transport,
            "sending": "paused" if left > 0 else "active",
            "paused_reason": pause.reason,
            "paused_for_seconds": round(left, 1),
            "max_send_rate_per_second": quota.rate if quota else None,
            "max_send_rate_from": quota.source if quota else None,
        }
        await respond(send, 200, json.dumps(body).encode(), content_type="application/json")

    return status


def _quota(settings: MailerSettings, bus: Bus, transport: AnyTransport) -> SendQuota:
    return SendQuota(
        bus.ns,
        fallback_rate=settings.ses_max_send_rate,
        read_rate=transport.max_send_rate if isinstance(transport, SesTransport) else None,
        refresh_seconds=settings.ses_quota_refresh_seconds,
    )


def _sender(
    settings: MailerSettings,
    bus: Bus,
    parts: tuple[SendLedger, SuppressionSet, MailerMetrics],
    transport: Transport,
    quota: SendQuota,
) -> Sender:
    ledger, suppression, metrics = parts
    pacing = Pacing(
        limiter=quota,
        pause=SendingPause(),
        pause_seconds=settings.mail_pause_seconds,
    )
    return Sender(
        ledger=ledger,
        transport=transport,
        publisher=bus.publisher,
        from_address=settings.from_address,
        suppression=suppression,
        pacing=pacing,
        metrics=metrics,
        claim_grace=settings.claim_grace,
        # Only SES reaches real mailboxes: the file and SMTP transports (a local mail
        # catcher) may write to the demo's example.com clients.
        refuse_reserved=settings.mail_transport == "ses"
        and not settings.mailer_allow_reserved_domains,
    )


def _receiver(
    settings: MailerSettings,
    bus: Bus,
    suppression: SuppressionSet,
    metrics: MailerMetrics,
    http: httpx.AsyncClient,
    inbound: Inbound | None,
) -> NotificationReceiver:
    return NotificationReceiver(
        ns=bus.ns,
        publisher=bus.publisher,
        suppression=suppression,
        verifier=SnsVerifier(settings.sns_cert_url_pattern, http),
        http=http,
        metrics=metrics,
        topic_arns=settings.sns_topic_arns,
        inbound=(inbound.intake, inbound.s3) if inbound else None,
    )


def _app(mailer: Mailer, settings: MailerSettings) -> AsgiFastStream:
    ready = _readiness(mailer.ledger, mailer.suppression, mailer.transport, mailer.sender)
    checks = [ready] if mailer.inbound is None else [ready, mailer.inbound.ready]
    app = worker_app(
        mailer.bus,
        title="RealtorOS mailer",
        description=DESCRIPTION,
        ready_checks=checks,
        on_startup=[mailer.open],
    )
    # After the broker has stopped (handlers in flight finished), not before it.
    app.after_shutdown(mailer.close)
    app.mount("/metrics", mailer.metrics.asgi)
    app.mount("/status", _status(mailer.sender, settings))
    app.mount("/ses/notifications", mailer.receiver)
    return app


def build_mailer(
    settings: MailerSettings,
    *,
    retry: RetryPolicy | None = None,
    wrap_transport: Callable[[Transport], Transport] | None = None,
) -> Mailer:
    """The mailer for ``settings``. ``retry`` overrides the retry policy and
    ``wrap_transport`` decorates the transport (tests inject faults with it)."""
    bus = build_bus("mailer", settings, retry)
    ledger, suppression, metrics = SendLedger(bus.ns), SuppressionSet(bus.ns), MailerMetrics()
    resources = AsyncExitStack()
    transport, open_transport = _transport(settings, resources)
    sending = wrap_transport(transport) if wrap_transport else transport
    quota = _quota(settings, bus, transport)
    sender = _sender(settings, bus, (ledger, suppression, metrics), sending, quota)
    register_handlers(bus, sender, suppression, max_workers=settings.mail_max_workers)
    inbound = build_inbound(settings, bus, session_kwargs(settings), suppression, metrics)
    if inbound is not None:
        sender.replies = inbound.addressing
        register_inbound_consumers(bus, inbound, sender, ledger, sending, settings.from_address)
    http = httpx.AsyncClient(timeout=10.0)
    receiver = _receiver(settings, bus, suppression, metrics, http, inbound)

    async def open_resources() -> None:
        js = bus.broker.connection.jetstream()
        await ledger.open(js)
        await suppression.open(js)
        await receiver.open(js)
        await open_transport()
        await quota.open(js)  # after the transport: it reads the quota from SES
        if inbound is not None:
            await inbound.open(js, resources)

    async def close_resources() -> None:
        if inbound is not None:
            await inbound.close()
        await quota.close()
        await resources.aclose()
        await http.aclose()

    mailer = Mailer(
        bus=bus,
        ledger=ledger,
        suppression=suppression,
        sender=sender,
        receiver=receiver,
        metrics=metrics,
        transport=transport,
        inbound=inbound,
        open=open_resources,
        close=close_resources,
    )
    mailer.app = _app(mailer, settings)
    return mailer


def build_app(settings: MailerSettings) -> AsgiFastStream:
    mailer = build_mailer(settings, wrap_transport=traced_transport)
    include_runtime_metrics(mailer.metrics.registry)  # its /metrics serves the runtime's too
    return mailer.app
