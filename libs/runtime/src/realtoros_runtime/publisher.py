"""The publisher of a service's events: the RealtorOS envelope, JetStream's ack, retries
under the same message id, and the declared publications checked."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime

from faststream.nats import NatsBroker
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js.api import PubAck

from realtoros_contracts import Event, Namespace, outgoing
from realtoros_runtime.metrics import RuntimeMetrics
from realtoros_runtime.publications import Publications
from realtoros_runtime.telemetry import publishing

log = logging.getLogger(__name__)

PUBLISH_TIMEOUT = 5.0
PUBLISH_ATTEMPTS = 5


class EventPublisher:
    """Publishes events with their envelope and waits for JetStream's ack.

    A timeout is retried with the same ``Nats-Msg-Id``, so a publish that did land is not
    stored twice. A service's publisher (``build_bus``) has its ``publications``: it
    refuses a subject they do not declare. Without them (a test or a benchmark standing
    in for another service) nothing is checked.
    """

    def __init__(
        self,
        broker: NatsBroker,
        ns: Namespace,
        source: str,
        publications: Publications | None = None,
        metrics: RuntimeMetrics | None = None,
    ) -> None:
        self._broker = broker
        self._ns = ns
        self._source = source
        self.publications = publications
        self.metrics = metrics

    @property
    def namespace(self) -> Namespace:
        return self._ns

    async def publish(self, event: Event, *, event_id: str, time: datetime | None = None) -> PubAck:
        out = outgoing(self._ns, event, event_id=event_id, source=self._source, time=time)
        return await self.publish_raw(out.subject, out.body, out.headers, stream=out.stream)

    async def publish_raw(
        self, subject: str, body: bytes, headers: dict[str, str], *, stream: str
    ) -> PubAck:
        if self.publications is not None:
            self.publications.check(subject)
        counted = self.metrics.publishing(subject) if self.metrics is not None else None
        # A span when exporting (its traceparent is written into headers).
        with publishing(subject, headers):
            try:
                ack = await self._publish_with_retries(subject, body, headers, stream=stream)
            except BaseException:
                if counted is not None:
                    counted.error()
                raise
        if counted is not None:
            counted.published.inc()
        return ack

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
