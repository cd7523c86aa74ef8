"""The composition pieces every service builds on: broker, publisher, durable consumers,
the ASGI app with health, readiness and the AsyncAPI document."""

from __future__ import annotations

import dataclasses
import inspect
import json
import logging
import ssl
import typing
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from faststream.asgi import AsgiFastStream, AsgiResponse, get
from faststream.asgi.factories.asyncapi.route import AsyncAPIRoute
from faststream.asgi.types import Scope
from faststream.middlewares import AckPolicy
from faststream.nats import JStream, NatsBroker, PullSub
from faststream.nats.security import NatsSecurity, NatsUserPassword
from nats.js.api import AckPolicy as ServerAckPolicy
from nats.js.api import ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError

from realtoros_contracts import Namespace, inbox_prefix, published_by
from realtoros_runtime.asyncapi import ServiceAsyncAPI
from realtoros_runtime.bus import EventPublisher, ensure_streams
from realtoros_runtime.consuming import RetryPolicy, consumer_middleware, current_message
from realtoros_runtime.jetstream_ready import (
    JS_API_TIMEOUT,
    DurableSpec,
    ensure_consumers,
    with_backoff,
)
from realtoros_runtime.metrics import install_metrics, watch_dead_letters
from realtoros_runtime.publications import Publications
from realtoros_runtime.readiness import Readiness, ReadyCheck
from realtoros_runtime.settings import ServiceSettings
from realtoros_runtime.telemetry import instrument_broker


@dataclass
class Bus:
    """One service's connection to NATS: the broker, its publisher and its namespace."""

    service: str
    broker: NatsBroker
    publisher: EventPublisher
    ns: Namespace
    settings: ServiceSettings
    readiness: Readiness
    """The service's readiness checks (NATS first), and the gate its consumers wait at."""
    durables: list[DurableSpec] = field(default_factory=list)
    """Created by :meth:`connect`, before FastStream binds to them."""

    @property
    def inbox_prefix(self) -> str:
        user = self.settings.nats_user
        return inbox_prefix(user) if user is not None else "_INBOX"

    @property
    def publications(self) -> Publications:
        assert self.publisher.publications is not None  # build_bus always gives them
        return self.publisher.publications

    async def connect(self) -> None:
        """Connect and make sure every stream and durable consumer exists (before any
        subscriber starts), waiting with backoff while JetStream elects (jetstream_ready)."""
        await self.broker.connect()
        js = self.broker.connection.jetstream(timeout=JS_API_TIMEOUT)
        # NotFound: a server without a meta leader may deny a stream it was just asked for.
        streams = lambda: ensure_streams(js, self.ns)  # noqa: E731
        await with_backoff(streams, "the streams", also=(NotFoundError,))
        await ensure_consumers(js, self.durables)

    def durable(
        self,
        subject: str,
        *,
        producer: str,
        durable: str,
        max_workers: int = 1,
        batch_size: int = 32,
        ack_wait: float = 60.0,
        description: str | None = None,
    ) -> Any:
        """A durable pull consumer with explicit acks, shared by every replica; decorates
        ``async def handler(event: SomeEvent[, msg: NatsMessage])``."""
        if not durable.startswith(f"{self.service}-"):
            # The NATS permissions tell the services' durables from other systems' by it.
            raise ValueError(f"durable {durable!r} must start with {self.service + '-'!r}")
        self.publications.declare_dead_letters()  # what it cannot process goes there
        config = ConsumerConfig(
            ack_policy=ServerAckPolicy.EXPLICIT,
            ack_wait=ack_wait,
            max_deliver=-1,  # bounded by the middleware, which dead-letters
            deliver_policy=DeliverPolicy.ALL,
            max_ack_pending=max(1000, max_workers * batch_size * 4),
        )
        stream = self.ns.stream_name(producer)
        self.durables.append(DurableSpec(stream, subject, durable, config))
        subscriber = self.broker.subscriber(
            subject,
            stream=JStream(stream, declare=False),
            durable=durable,
            config=dataclasses.replace(config),  # FastStream's own copy
            pull_sub=PullSub(batch_size=batch_size, timeout=1.0),
            max_workers=max_workers,
            # FastStream's default ("_INBOX.") overrides the connection's own prefix.
            inbox_prefix=f"{self.inbox_prefix}.".encode(),
            ack_policy=AckPolicy.NACK_ON_ERROR,
            description=description,
        )

        def register(handler: Callable[..., Awaitable[Any]]) -> Any:
            return subscriber(without_message_parameter(handler))

        return register


def without_message_parameter(
    handler: Callable[..., Awaitable[Any]],
) -> Callable[..., Awaitable[Any]]:
    """``handler(event, msg)`` as a one-parameter handler that gets ``msg`` from the
    consuming middleware. FastStream resolves a ``msg: NatsMessage`` parameter through a
    synchronous context field, which fast_depends runs in a worker thread: a thread hop
    per message (4-14 % of every service's CPU in the benchmark profiles)."""
    params = list(inspect.signature(handler).parameters.values())
    if len(params) != 2 or params[1].name != "msg":
        return handler
    event_param = params[0]
    event_type = typing.get_type_hints(handler)[event_param.name]

    async def handle(*args: Any, **kwargs: Any) -> Any:
        return await handler(*args, **kwargs, msg=current_message())

    # Not functools.wraps: its __wrapped__ would show FastStream the msg parameter again.
    handle.__name__ = handler.__name__
    handle.__qualname__ = handler.__qualname__
    handle.__doc__ = handler.__doc__
    handle.__module__ = handler.__module__
    handle.__annotations__ = {event_param.name: event_type, "return": None}
    handle.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [event_param.replace(annotation=event_type)], return_annotation=None
    )
    return handle


def build_bus(service: str, settings: ServiceSettings, retry: RetryPolicy | None = None) -> Bus:
    broker = NatsBroker(
        settings.nats_servers,
        **nats_connect_options(settings),
        name=f"realtoros-{service}",
        graceful_timeout=30.0,
        js_options={"timeout": JS_API_TIMEOUT},  # longer than an election (jetstream_ready)
        max_reconnect_attempts=-1,
        reconnect_time_wait=1,
        # Per-message "Received"/"Processed" lines only at DEBUG: too chatty under load.
        log_level=logging.DEBUG,
    )
    ns = settings.namespace
    publications = Publications(broker, ns, service)
    publications.declare_events(published_by(service))
    publisher = EventPublisher(broker, ns, source=f"realtoros/{service}", publications=publications)
    policy = retry or RetryPolicy(max_deliveries=settings.max_deliveries)
    readiness = Readiness(service, [_nats_check(broker)])
    watch_dead_letters(ns.dead_letter_stream().name)
    broker.add_middleware(consumer_middleware(publisher, service, policy, readiness))
    instrument_broker(broker, service)  # trace and metrics middlewares, outermost
    return Bus(
        service=service,
        broker=broker,
        publisher=publisher,
        ns=ns,
        settings=settings,
        readiness=readiness,
    )


def _nats_check(broker: NatsBroker) -> ReadyCheck:
    async def nats_connected() -> str | None:
        return None if await broker.ping(2.0) else "nats: not connected"

    return nats_connected


def nats_connect_options(settings: ServiceSettings) -> dict[str, Any]:
    """The service's own NATS user (replies on its own inbox prefix, the only one its
    permissions let it read) and, with a CA file, TLS verified against it."""
    context = None
    if settings.nats_tls_ca is not None:
        context = ssl.create_default_context(cadata=settings.nats_tls_ca)
    if settings.nats_user is None or settings.nats_password is None:
        return {"security": NatsSecurity(ssl_context=context)} if context else {}
    security = NatsUserPassword(
        settings.nats_user, settings.nats_password.get_secret_value(), ssl_context=context
    )
    return {"security": security, "inbox_prefix": inbox_prefix(settings.nats_user)}


def asyncapi_spec(bus: Bus, *, title: str, description: str) -> ServiceAsyncAPI:
    return ServiceAsyncAPI(bus, title=title, description=description)


def _healthz() -> Any:
    @get(include_in_schema=False)
    async def healthz(scope: Scope) -> AsgiResponse:
        return AsgiResponse(b'{"status":"ok"}', 200, headers={"content-type": "application/json"})

    return healthz


def _readyz(bus: Bus) -> Any:
    @get(include_in_schema=False)
    async def readyz(scope: Scope) -> AsgiResponse:
        if problems := await bus.readiness.problems():
            body = json.dumps({"status": "unavailable", "problems": problems}).encode()
            return AsgiResponse(body, 503, headers={"content-type": "application/json"})
        return AsgiResponse(
            b'{"status":"ready"}', 200, headers={"content-type": "application/json"}
        )

    return readyz


def worker_app(
    bus: Bus,
    *,
    title: str,
    description: str,
    ready_checks: Sequence[ReadyCheck] = (),
    on_startup: Sequence[Callable[[], Awaitable[None]]] = (),
    after_startup: Sequence[Callable[[], Awaitable[None]]] = (),
    on_shutdown: Sequence[Callable[[], Awaitable[None]]] = (),
) -> AsgiFastStream:
    """The ASGI app of a worker service: the broker's lifecycle plus /healthz, /readyz and
    the AsyncAPI document at /asyncapi (HTML) and /asyncapi.json."""
    for check in ready_checks:
        bus.readiness.add_check(check)
    app = AsgiFastStream(
        bus.broker,
        asgi_routes=[("/healthz", _healthz()), ("/readyz", _readyz(bus))],
        on_startup=[bus.connect, *on_startup],
        after_startup=list(after_startup),
        on_shutdown=[*on_shutdown, bus.readiness.close],
        specification=asyncapi_spec(bus, title=title, description=description),
        asyncapi_path=AsyncAPIRoute("/asyncapi", try_it_out_path=None),
    )
    install_metrics(app, bus.broker, bus.service)  # GET /metrics unless the service mounts one
    return app


def serve(app: Any, settings: ServiceSettings) -> None:
    """Run an ASGI app with uvicorn on the service's host and port."""
    import gc

    import uvicorn

    # Everything imported and built so far lives as long as the process: out of the
    # collector's sight, full collections stop re-walking it (they paused a CRM claim
    # batch for ~80 ms).
    gc.collect()
    gc.freeze()
    uvicorn.run(
        app,
        host=settings.http_host,
        port=settings.http_port,
        log_config=None,
        access_log=False,
        lifespan="on",
    )
