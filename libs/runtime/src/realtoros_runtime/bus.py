"""Streams and publishing over JetStream with the RealtorOS envelope."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime

from faststream.nats import NatsBroker
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js import JetStreamContext
from nats.js.api import DiscardPolicy, PubAck, RetentionPolicy, StorageType, StreamConfig
from nats.js.errors import BadRequestError, NotFoundError

from realtoros_contracts import Event, Namespace, StreamSpec, encode, envelope_headers
from realtoros_runtime.telemetry import publishing

log = logging.getLogger(__name__)

PUBLISH_TIMEOUT = 5.0
PUBLISH_ATTEMPTS = 5


def stream_config(spec: StreamSpec) -> StreamConfig:
    return StreamConfig(
        name=spec.name,
        description=spec.description,
        subjects=list(spec.subjects),
        retention=RetentionPolicy.LIMITS,
        storage=StorageType.FILE,
        max_age=float(spec.max_age_seconds),
        duplicate_window=float(spec.duplicate_window_seconds),
        num_replicas=spec.replicas,
        max_msgs=spec.max_messages,
        max_bytes=spec.max_bytes,
        discard=DiscardPolicy.OLD,
    )


async def ensure_streams(js: JetStreamContext, ns: Namespace) -> None:
    """Create every stream of the namespace, or bring its config up to date (idempotent:
    whichever service starts first creates them). A changed replica count is applied by
    the update too: JetStream copies an R1 stream to three servers when told R3."""
    for spec in ns.streams():
        config = stream_config(spec)
        try:
            await js.stream_info(spec.name)
        except NotFoundError:
            try:
                await js.add_stream(config)
                continue
            except BadRequestError:  # another service created it in between
                pass
        await js.update_stream(config)


class EventPublisher:
    """Publishes events with their envelope and waits for JetStream's ack.

    A timeout is retried with the same ``Nats-Msg-Id``, so a publish that did land is not
    stored twice.
    """

    def __init__(self, broker: NatsBroker, ns: Namespace, source: str) -> None:
        self._broker = broker
        self._ns = ns
        self._source = source

    @property
    def namespace(self) -> Namespace:
        return self._ns

    async def publish(self, event: Event, *, event_id: str, time: datetime | None = None) -> PubAck:
        headers = envelope_headers(event, event_id=event_id, source=self._source, time=time)
        subject = self._ns.subject(event)
        stream = self._ns.stream_for(event).name
        return await self.publish_raw(subject, encode(event), headers, stream=stream)

    async def publish_raw(
        self, subject: str, body: bytes, headers: dict[str, str], *, stream: str
    ) -> PubAck:
        # A span (its traceparent is written into headers) and the publish metrics.
        with publishing(self._source, subject, headers):
            return await self._publish_with_retries(subject, body, headers, stream=stream)

    async def _publish_with_retries(
        self, subject: str, body: bytes, headers: dict[str, str], *, stream: str
    ) -> PubAck:
        js = self._broker.connection.jetstream()
        delay = 0.2
        for attempt in range(1, PUBLISH_ATTEMPTS + 1):
            try:
                return await js.publish(
                    subject, body, timeout=PUBLISH_TIMEOUT, stream=stream, headers=headers
                )
            except (TimeoutError, NatsTimeoutError):
                if attempt == PUBLISH_ATTEMPTS:
                    raise
                log.warning("publish to %s timed out (attempt %d), retrying", subject, attempt)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
        raise AssertionError("unreachable")
