"""Composition root: the bus, the ledger, the transport (with its one SES client), the
handlers and the ASGI app. Nothing is built at import time."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import Any

import aioboto3
from faststream.asgi import AsgiFastStream

from realtoros_mailer.handlers import register_handlers
from realtoros_mailer.ledger import SendLedger
from realtoros_mailer.sender import Sender
from realtoros_mailer.settings import MailerSettings
from realtoros_mailer.transports import Transport
from realtoros_mailer.transports.file import FileTransport
from realtoros_mailer.transports.ses import SesTransport, client_config
from realtoros_runtime.consuming import RetryPolicy
from realtoros_runtime.worker import Bus, build_bus, worker_app

Hook = Callable[[], Awaitable[None]]

DESCRIPTION = (
    "Sends each composed (automatic, no review) or approved email at most once, through "
    "Amazon SES or the local outbox, and reports EmailSent or EmailFailed."
)


@dataclass
class Mailer:
    """The built service. ``open``/``close`` are the resources beyond the broker (the
    ledger bucket, the SES client): the app runs them in its lifespan; tests that drive
    the broker themselves call them around ``broker.start()``/``stop()``."""

    bus: Bus
    app: AsgiFastStream
    ledger: SendLedger
    transport: FileTransport | SesTransport
    open: Hook
    close: Hook


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


def _file_transport(settings: MailerSettings) -> tuple[FileTransport, Hook]:
    transport = FileTransport(settings.mail_outbox_dir)
    return transport, transport.start


def build_mailer(
    settings: MailerSettings,
    *,
    retry: RetryPolicy | None = None,
    wrap_transport: Callable[[Transport], Transport] | None = None,
) -> Mailer:
    """The mailer for ``settings``. ``retry`` overrides the retry policy and
    ``wrap_transport`` decorates the transport (tests inject faults with it)."""
    bus = build_bus("mailer", settings, retry)
    ledger = SendLedger(bus.ns)
    resources = AsyncExitStack()
    transport: FileTransport | SesTransport
    if settings.mail_transport == "ses":
        transport, open_transport = _ses_transport(settings, resources)
    else:
        transport, open_transport = _file_transport(settings)
    sending: Transport = wrap_transport(transport) if wrap_transport else transport
    sender = Sender(
        ledger=ledger,
        transport=sending,
        publisher=bus.publisher,
        from_address=settings.from_address,
    )
    register_handlers(bus, sender, max_workers=settings.mail_max_workers)

    async def open_resources() -> None:
        await ledger.open(bus.broker.connection.jetstream())
        await open_transport()

    async def close_resources() -> None:
        await resources.aclose()

    async def ready() -> str | None:
        if not ledger.ready:
            return "send ledger: not open"
        if isinstance(transport, SesTransport) and not transport.ready:
            return "ses: client not started"
        return None

    app = worker_app(
        bus,
        title="RealtorOS mailer",
        description=DESCRIPTION,
        ready_checks=[ready],
        on_startup=[open_resources],
    )
    # After the broker has stopped (handlers in flight finished), not before it.
    app.after_shutdown(close_resources)
    return Mailer(
        bus=bus,
        app=app,
        ledger=ledger,
        transport=transport,
        open=open_resources,
        close=close_resources,
    )


def build_app(settings: MailerSettings) -> AsgiFastStream:
    return build_mailer(settings).app
