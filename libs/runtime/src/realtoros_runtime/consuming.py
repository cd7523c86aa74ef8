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
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from faststream import BaseMiddleware
from faststream.exceptions import HandlerException
from faststream.message import AckStatus, StreamMessage
from faststream.nats.message import NatsMessage
from opentelemetry import context as otel_context
from opentelemetry import propagate
from pydantic import ValidationError

from realtoros_contracts import EnvelopeError, SchedulerTick
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
from realtoros_runtime.delivery import (
    _CURRENT,
    Delivery,
    current_message,
    envelope_of,
    validate,
    validate_message,
    validated_event,
)
from realtoros_runtime.faults import Fault, classify
from realtoros_runtime.metrics import RuntimeMetrics
from realtoros_runtime.readiness import Readiness
from realtoros_runtime.retry import FailureCounts, RetryPolicy

if TYPE_CHECKING:
    from realtoros_runtime.publisher import EventPublisher

__all__ = [
    "H_DL_DELIVERIES",
    "H_DL_ERROR",
    "H_DL_REASON",
    "H_DL_SEQUENCE",
    "H_DL_SERVICE",
    "H_DL_STREAM",
    "H_DL_SUBJECT",
    "ConsumePolicy",
    "RetryPolicy",
    "consumer_middleware",
    "current_message",
    "describe_validation_error",
    "envelope_of",
    "validate_message",
    "validated_event",
]

log = logging.getLogger(__name__)

TRACEPARENT = "traceparent"


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


def _key(msg: NatsMessage) -> tuple[str, int]:
    meta = msg.raw_message.metadata  # parsed from the reply subject on every access
    return (meta.consumer or "", meta.sequence.stream)


class ConsumePolicy:
    """What the middleware does with one delivery, by the kind of failure."""

    def __init__(
        self,
        publisher: EventPublisher,
        service: str,
        policy: RetryPolicy,
        readiness: Readiness,
        metrics: RuntimeMetrics,
    ) -> None:
        self.dead_letters = DeadLetters(publisher, service)
        self.ns = publisher.namespace
        self.service = service
        self.policy = policy
        self.readiness = readiness
        self.metrics = metrics
        self.failures = FailureCounts()

    async def consume(
        self,
        call_next: Callable[[StreamMessage[Any]], Awaitable[Any]],
        msg: NatsMessage,
        delivery: Delivery,
    ) -> Any:
        if not self.readiness.is_open:
            await self.readiness.wait_until_open(lambda: _in_progress(msg))
        try:
            delivery.envelope, delivery.event = validate(self.ns, msg)
            result = await call_next(msg)
        except HandlerException:
            raise
        except Exception as exc:
            await self.failed(msg, _key(msg), exc)
            return None
        if self.failures:
            self.failures.forget(_key(msg))
        return result

    async def failed(self, msg: NatsMessage, key: tuple[str, int], exc: Exception) -> None:
        subject = msg.raw_message.subject
        deliveries = msg.raw_message.metadata.num_delivered
        fault = classify(exc)
        if fault is Fault.TRANSIENT:
            self.readiness.suspect(f"{type(exc).__name__} handling {subject}")
        if self.ns.event_for_subject(subject) is SchedulerTick:
            self.metrics.ticks_dropped.labels(self.service, fault.value).inc()
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
        self.metrics.retried_transient.labels(self.service, subject).inc()
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


def consumer_middleware(consuming: ConsumePolicy, *, tracing: bool = False) -> type[BaseMiddleware]:
    """The broker middleware that applies the policy above to every consumed message and
    counts its outcome (what the policy did to it: nacked is failed, rejected is
    dead-lettered, else consumed). Without ``tracing`` (no exporter, so no consume span)
    an incoming ``traceparent`` is still made current, so what the handler publishes
    continues that trace; a message without one costs nothing."""
    outcomes = consuming.metrics.consuming
    clock = time.perf_counter

    class RetryAndDeadLetter(BaseMiddleware):
        async def consume_scope(
            self,
            call_next: Callable[[StreamMessage[Any]], Awaitable[Any]],
            msg: StreamMessage[Any],
        ) -> Any:
            assert isinstance(msg, NatsMessage)
            counted = outcomes(msg.raw_message.subject)
            started = clock()
            delivery = Delivery(msg)
            token = _CURRENT.set(delivery)
            trace = None
            if not tracing and TRACEPARENT in msg.headers:
                trace = otel_context.attach(propagate.extract(msg.headers))
            try:
                result = await consuming.consume(call_next, msg, delivery)
            except Exception:
                counted.failed.inc()
                raise
            finally:
                counted.handling.observe(clock() - started)
                if trace is not None:
                    otel_context.detach(trace)
                _CURRENT.reset(token)
            if msg.committed is AckStatus.REJECTED:
                counted.dead_lettered.inc()
            elif msg.committed is AckStatus.NACKED:
                counted.failed.inc()
            else:
                counted.consumed.inc()
            return result

    return RetryAndDeadLetter
