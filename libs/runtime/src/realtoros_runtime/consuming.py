"""Consuming: retries, outages and dead letters, one policy for every consumer.

Every RealtorOS consumer is a durable JetStream consumer with explicit acks and no
server-side ``max_deliver`` (-1): how often a message is tried is decided here, by what
went wrong (``realtoros_runtime.faults.classify``):

* permanent (the envelope or body fails validation, an unknown schema, ``Unprocessable``):
  dead-lettered at once with the reason, and terminated;
* transient (a dependency is unavailable): the service's readiness gate closes, the message
  is nacked with capped exponential backoff and jitter (the server does not back off naks),
  and the delivery does not count toward dead-lettering, however long the outage lasts;
  the next messages wait at the gate (``realtoros_runtime.readiness``) instead of failing;
* anything else: retried with backoff up to ``max_deliveries`` failures of that kind, then
  dead-lettered with the error, the service and the count. The count is this process's
  (JetStream's ``num_delivered`` also counts transient redeliveries): several replicas or
  a restart can only give a message more tries, never fewer;
* ticks are disposable: a tick that cannot be handled is acked and dropped (the next tick
  covers it), never dead-lettered;
* the dead letter is published before the original is terminated, so nothing is lost if
  NATS is unreachable at that moment (the original is then redelivered).
"""

from __future__ import annotations

import logging
import random
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from typing import Any

from faststream import BaseMiddleware
from faststream.exceptions import HandlerException
from faststream.message import StreamMessage
from faststream.nats.message import NatsMessage
from pydantic import ValidationError

from realtoros_contracts import (
    Envelope,
    EnvelopeError,
    Namespace,
    SchedulerTick,
    decode,
    parse_envelope,
)
from realtoros_runtime.bus import EventPublisher
from realtoros_runtime.dead_letters import (
    H_DL_DELIVERIES,
    H_DL_ERROR,
    H_DL_REASON,
    H_DL_SEQUENCE,
    H_DL_SERVICE,
    H_DL_STREAM,
    H_DL_SUBJECT,
    DeadLetters,
    describe_validation_error,
    one_line,
)
from realtoros_runtime.faults import Fault, classify
from realtoros_runtime.metrics import counter
from realtoros_runtime.readiness import Readiness

__all__ = [
    "H_DL_DELIVERIES",
    "H_DL_ERROR",
    "H_DL_REASON",
    "H_DL_SEQUENCE",
    "H_DL_SERVICE",
    "H_DL_STREAM",
    "H_DL_SUBJECT",
    "RetryPolicy",
    "consumer_middleware",
    "current_message",
    "describe_validation_error",
    "envelope_of",
    "validate_message",
]

log = logging.getLogger(__name__)

_CURRENT: ContextVar[NatsMessage | None] = ContextVar("realtoros_message", default=None)


def current_message() -> NatsMessage:
    """The message whose handler is running (set by the middleware below)."""
    msg = _CURRENT.get()
    if msg is None:
        raise RuntimeError("no message is being consumed here")
    return msg


TRANSIENT_RETRIES = counter(
    "realtoros_messages_retried_transient",
    "Deliveries nacked because a dependency was unavailable (never dead-lettered).",
    ["service", "subject"],
)
TICKS_DROPPED = counter(
    "realtoros_ticks_dropped",
    "Ticks that could not be handled and were dropped (the next tick covers them).",
    ["service", "reason"],
)


class RetryPolicy:
    """Exponential backoff with jitter: bounded for errors, capped but endless for outages."""

    def __init__(
        self,
        max_deliveries: int = 5,
        base_delay: float = 1.0,
        max_delay: float = 60.0,
        max_transient_delay: float = 10.0,
    ) -> None:
        self.max_deliveries = max_deliveries
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.max_transient_delay = max_transient_delay

    def delay(self, delivered: int) -> float:
        return self._jittered(self.max_delay, delivered)

    def transient_delay(self, delivered: int) -> float:
        """Short at first, then at most ``max_transient_delay``: the wait after an outage
        ends is bounded by it."""
        return self._jittered(self.max_transient_delay, delivered)

    def _jittered(self, cap: float, delivered: int) -> float:
        ceiling = min(cap, self.base_delay * 2 ** min(30, max(0, delivered - 1)))
        return random.uniform(ceiling / 2, ceiling)


class FailureCounts:
    """How often this process saw each message fail for a reason that was not an outage,
    keyed by consumer and stream sequence; forgotten on success or dead letter, and the
    oldest first beyond ``limit`` (a forgotten count only means more tries)."""

    def __init__(self, limit: int = 10_000) -> None:
        self._counts: OrderedDict[tuple[str, int], int] = OrderedDict()
        self._limit = limit

    def add(self, key: tuple[str, int]) -> int:
        count = self._counts.pop(key, 0) + 1
        self._counts[key] = count
        while len(self._counts) > self._limit:
            self._counts.popitem(last=False)
        return count

    def forget(self, key: tuple[str, int]) -> None:
        self._counts.pop(key, None)


async def _nack(msg: StreamMessage[Any], delay: float) -> None:
    assert isinstance(msg, NatsMessage)
    try:
        await msg.nack(delay=delay)
    except Exception as exc:  # NATS is away: the server redelivers after ack_wait
        log.warning("could not nack %s (%s); it will be redelivered", msg.raw_message.subject, exc)


async def _in_progress(msg: StreamMessage[Any]) -> None:
    try:
        await msg.raw_message.in_progress()
    except Exception as exc:  # NATS is away: a redelivery later is harmless
        log.debug("could not extend the ack deadline: %s", exc)


def _describe(exc: BaseException) -> str:
    if isinstance(exc, ValidationError):
        return describe_validation_error(exc)
    if isinstance(exc, EnvelopeError):
        return f"invalid envelope: {exc}"
    return f"{type(exc).__name__}: {exc}"


def validate_message(ns: Namespace, msg: StreamMessage[Any]) -> Envelope:
    """Check the envelope and body against the event published on the message's subject."""
    subject = msg.raw_message.subject
    event_cls = ns.event_for_subject(subject)
    if event_cls is None:
        raise EnvelopeError(f"no RealtorOS event is published on {subject!r}")
    envelope, _ = decode(event_cls, msg.headers, msg.body)
    return envelope


def envelope_of(msg: StreamMessage[Any]) -> Envelope:
    """The envelope of a message the middleware has already validated."""
    return parse_envelope(msg.headers)


class _Policy:
    """What the middleware does with one delivery, by the kind of failure."""

    def __init__(
        self,
        publisher: EventPublisher,
        service: str,
        policy: RetryPolicy,
        readiness: Readiness,
    ) -> None:
        self.dead_letters = DeadLetters(publisher, service)
        self.ns = publisher.namespace
        self.service = service
        self.policy = policy
        self.readiness = readiness
        self.failures = FailureCounts()

    async def consume(
        self, call_next: Callable[[StreamMessage[Any]], Awaitable[Any]], msg: NatsMessage
    ) -> Any:
        meta = msg.raw_message.metadata
        key = (meta.consumer or "", meta.sequence.stream)
        await self.readiness.wait_until_open(lambda: _in_progress(msg))
        try:
            validate_message(self.ns, msg)
            result = await call_next(msg)
        except HandlerException:
            raise
        except Exception as exc:
            await self.failed(msg, key, exc)
            return None
        self.failures.forget(key)
        return result

    async def failed(self, msg: NatsMessage, key: tuple[str, int], exc: Exception) -> None:
        subject = msg.raw_message.subject
        deliveries = msg.raw_message.metadata.num_delivered
        fault = classify(exc)
        if fault is Fault.TRANSIENT:
            self.readiness.suspect(f"{type(exc).__name__} handling {subject}")
        if self.ns.event_for_subject(subject) is SchedulerTick:
            TICKS_DROPPED.labels(self.service, fault.value).inc()
            log.warning("dropped tick %s (%s): %s", subject, fault.value, one_line(str(exc), 300))
            return  # acked: the next tick covers it
        if fault is Fault.PERMANENT:
            await self.dead_letter(msg, key, _describe(exc), type(exc).__name__, 1)
        elif fault is Fault.TRANSIENT:
            await self.retry_after_outage(msg, exc, deliveries)
        else:
            await self.retry_or_dead_letter(msg, key, exc)

    async def retry_after_outage(self, msg: NatsMessage, exc: Exception, deliveries: int) -> None:
        subject = msg.raw_message.subject
        delay = self.policy.transient_delay(deliveries)
        TRANSIENT_RETRIES.labels(self.service, subject).inc()
        log.warning(
            "%s: a dependency is unavailable (%s: %s); retrying in %.1fs, not counted",
            subject,
            type(exc).__name__,
            one_line(str(exc), 300),
            delay,
        )
        await _nack(msg, delay)

    async def retry_or_dead_letter(
        self, msg: NatsMessage, key: tuple[str, int], exc: Exception
    ) -> None:
        failures = self.failures.add(key)
        if failures < self.policy.max_deliveries:
            delay = self.policy.delay(failures)
            log.warning(
                "%s failed (%d of %d: %s: %s); retrying in %.1fs",
                msg.raw_message.subject,
                failures,
                self.policy.max_deliveries,
                type(exc).__name__,
                one_line(str(exc), 300),
                delay,
            )
            await _nack(msg, delay)
            return
        reason = f"gave up after {failures} failures: {type(exc).__name__}: {exc}"
        await self.dead_letter(msg, key, reason, type(exc).__name__, failures)

    async def dead_letter(
        self, msg: NatsMessage, key: tuple[str, int], reason: str, error: str, failures: int
    ) -> None:
        try:
            await self.dead_letters.send(msg, reason=reason, error=error, deliveries=failures)
        except Exception:
            log.exception("could not publish dead letter; the message will be redelivered")
            await _nack(msg, self.policy.delay(failures))
            return
        self.failures.forget(key)
        await msg.reject()


def consumer_middleware(
    publisher: EventPublisher, service: str, policy: RetryPolicy, readiness: Readiness
) -> type[BaseMiddleware]:
    """The broker middleware that applies the policy above to every consumed message."""
    consuming = _Policy(publisher, service, policy, readiness)

    class RetryAndDeadLetter(BaseMiddleware):
        async def consume_scope(
            self,
            call_next: Callable[[StreamMessage[Any]], Awaitable[Any]],
            msg: StreamMessage[Any],
        ) -> Any:
            assert isinstance(msg, NatsMessage)
            token = _CURRENT.set(msg)
            try:
                return await consuming.consume(call_next, msg)
            finally:
                _CURRENT.reset(token)

    return RetryAndDeadLetter
