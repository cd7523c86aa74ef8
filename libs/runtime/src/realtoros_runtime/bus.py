"""A service's connection to NATS (``Bus``, built by ``build_bus``): its streams, its
publisher with the RealtorOS envelope, its durable consumers, its metrics."""

from __future__ import annotations

import dataclasses
import inspect
import logging
import typing
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from faststream.middlewares import AckPolicy
from faststream.nats import JStream, NatsBroker, PullSub
from nats.js.api import AckPolicy as ServerAckPolicy
from nats.js.api import ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError

from realtoros_contracts import Namespace, inbox_prefix, published_by
from realtoros_runtime.connection import nats_check, nats_connect_options
from realtoros_runtime.consuming import ConsumePolicy, RetryPolicy, consumer_middleware
from realtoros_runtime.delivery import current_message, validated_event
from realtoros_runtime.jetstream_ready import (
    JS_API_TIMEOUT,
    DurableSpec,
    ensure_consumers,
    with_backoff,
)
from realtoros_runtime.metrics import ServiceMetrics
from realtoros_runtime.publications import Publications
from realtoros_runtime.publisher import EventPublisher
from realtoros_runtime.readiness import Readiness
from realtoros_runtime.settings import ServiceSettings
from realtoros_runtime.streams import ensure_streams
from realtoros_runtime.telemetry import instrument_broker, tracing_enabled


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
    metrics: ServiceMetrics
    """The service's metrics (``realtoros_<service>_…``), served at ``GET /metrics``."""
    consuming: ConsumePolicy
    """What becomes of a message that fails (retries, dead letters), for every consumer."""
    durables: list[DurableSpec] = field(default_factory=list)
    """Created by :meth:`connect`, before FastStream binds to them."""
    batches: list[Any] = field(default_factory=list)
    """The batch consumers (``realtoros_runtime.batches``): started after the broker."""

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
            # The event the consuming middleware validated, not a second parse.
            decoder=validated_event,
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
    metrics = ServiceMetrics(service)
    publications = Publications(broker, ns, service)
    publications.declare_events(published_by(service))
    publisher = EventPublisher(
        broker,
        ns,
        source=f"realtoros/{service}",
        publications=publications,
        metrics=metrics.runtime,
    )
    policy = retry or RetryPolicy(max_deliveries=settings.max_deliveries)
    readiness = Readiness(service, [nats_check(broker)], paused=metrics.runtime.consumers_paused)
    metrics.runtime.dead_letter_streams.add(ns.dead_letter_stream().name)
    consuming = ConsumePolicy(publisher, service, policy, readiness, metrics.runtime)
    broker.add_middleware(consumer_middleware(consuming, tracing=tracing_enabled()))
    instrument_broker(broker)  # the consume span, outermost (when exporting)
    return Bus(
        service=service,
        broker=broker,
        publisher=publisher,
        ns=ns,
        settings=settings,
        readiness=readiness,
        metrics=metrics,
        consuming=consuming,
    )
