"""Consuming with bounded retries and dead letters.

Every RealtorOS consumer is a durable JetStream consumer with explicit acks. This
middleware gives each of them the same policy:

* a message whose envelope or body does not validate is dead-lettered at once, with the
  reason, and terminated (never acked as a success, never retried);
* a handler error is retried with exponential backoff and jitter done here (the server does
  not back off naks), up to ``max_deliveries``; after the last attempt the message is
  dead-lettered with the error, the service and the delivery count;
* the dead letter is published before the original is terminated, so nothing is lost if
  NATS is unreachable at that moment (the original is then redelivered).
"""

from __future__ import annotations

import logging
import random
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from typing import Any

from faststream import BaseMiddleware
from faststream.exceptions import HandlerException
from faststream.message import StreamMessage
from faststream.nats.message import NatsMessage
from pydantic import ValidationError

from realtoros_contracts import Envelope, EnvelopeError, Namespace, decode, parse_envelope
from realtoros_runtime.bus import EventPublisher

log = logging.getLogger(__name__)

_CURRENT: ContextVar[NatsMessage | None] = ContextVar("realtoros_message", default=None)


def current_message() -> NatsMessage:
    """The message whose handler is running (set by the middleware below)."""
    msg = _CURRENT.get()
    if msg is None:
        raise RuntimeError("no message is being consumed here")
    return msg


H_DL_REASON = "x-dead-letter-reason"
H_DL_SERVICE = "x-dead-letter-service"
H_DL_SUBJECT = "x-dead-letter-subject"
H_DL_STREAM = "x-dead-letter-stream"
H_DL_SEQUENCE = "x-dead-letter-stream-seq"
H_DL_DELIVERIES = "x-dead-letter-deliveries"
H_DL_ERROR = "x-dead-letter-error"


class RetryPolicy:
    """Bounded redeliveries with exponential backoff and full jitter."""

    def __init__(
        self, max_deliveries: int = 5, base_delay: float = 1.0, max_delay: float = 60.0
    ) -> None:
        self.max_deliveries = max_deliveries
        self.base_delay = base_delay
        self.max_delay = max_delay

    def delay(self, delivered: int) -> float:
        ceiling = min(self.max_delay, self.base_delay * 2 ** max(0, delivered - 1))
        return random.uniform(ceiling / 2, ceiling)


def _one_line(text: str, limit: int = 1000) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def describe_validation_error(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors()[:10]:
        where = ".".join(str(p) for p in error["loc"]) or "body"
        parts.append(f"{where}: {error['msg']}")
    return "invalid event body: " + "; ".join(parts)


class DeadLetters:
    """Publishes a message that could not be processed to the service's dead-letter subject."""

    def __init__(self, publisher: EventPublisher, service: str) -> None:
        self._publisher = publisher
        self._service = service

    async def send(
        self, msg: StreamMessage[Any], *, reason: str, error: str, deliveries: int
    ) -> None:
        raw = msg.raw_message
        meta = raw.metadata
        ns = self._publisher.namespace
        headers = {k: v for k, v in (raw.headers or {}).items() if k != "Nats-Msg-Id"}
        headers |= {
            "Nats-Msg-Id": f"dl:{self._service}:{meta.stream}:{meta.sequence.stream}",
            H_DL_REASON: _one_line(reason),
            H_DL_SERVICE: self._service,
            H_DL_SUBJECT: raw.subject,
            H_DL_STREAM: meta.stream,
            H_DL_SEQUENCE: str(meta.sequence.stream),
            H_DL_DELIVERIES: str(deliveries),
            H_DL_ERROR: error,
        }
        await self._publisher.publish_raw(
            ns.dead_letter_subject(self._service),
            raw.data,
            headers,
            stream=ns.dead_letter_stream().name,
        )
        log.error(
            "dead-lettered %s seq %s after %d deliveries: %s",
            raw.subject,
            meta.sequence.stream,
            deliveries,
            _one_line(reason, 300),
        )


async def _nack(msg: StreamMessage[Any], delay: float) -> None:
    assert isinstance(msg, NatsMessage)
    await msg.nack(delay=delay)


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


def consumer_middleware(
    publisher: EventPublisher, service: str, policy: RetryPolicy
) -> type[BaseMiddleware]:
    """The broker middleware that applies the retry and dead-letter policy above."""
    dead_letters = DeadLetters(publisher, service)
    ns = publisher.namespace

    class RetryAndDeadLetter(BaseMiddleware):
        async def consume_scope(
            self,
            call_next: Callable[[StreamMessage[Any]], Awaitable[Any]],
            msg: StreamMessage[Any],
        ) -> Any:
            deliveries = msg.raw_message.metadata.num_delivered
            assert isinstance(msg, NatsMessage)
            token = _CURRENT.set(msg)
            try:
                validate_message(ns, msg)
                return await call_next(msg)
            except HandlerException:
                raise
            except (EnvelopeError, ValidationError) as exc:
                reason = (
                    describe_validation_error(exc)
                    if isinstance(exc, ValidationError)
                    else f"invalid envelope: {exc}"
                )
                await _dead_letter_or_retry(msg, reason, type(exc).__name__, deliveries)
            except Exception as exc:
                if deliveries < policy.max_deliveries:
                    delay = policy.delay(deliveries)
                    log.warning(
                        "%s failed on delivery %d (%s: %s); retrying in %.1fs",
                        msg.raw_message.subject,
                        deliveries,
                        type(exc).__name__,
                        _one_line(str(exc), 300),
                        delay,
                    )
                    await _nack(msg, delay)
                    return None
                reason = f"gave up after {deliveries} deliveries: {type(exc).__name__}: {exc}"
                await _dead_letter_or_retry(msg, reason, type(exc).__name__, deliveries)
            finally:
                _CURRENT.reset(token)
            return None

    async def _dead_letter_or_retry(
        msg: StreamMessage[Any], reason: str, error: str, deliveries: int
    ) -> None:
        try:
            await dead_letters.send(msg, reason=reason, error=error, deliveries=deliveries)
        except Exception:
            log.exception("could not publish dead letter; the message will be redelivered")
            await _nack(msg, policy.delay(deliveries))
            return
        await msg.reject()

    return RetryAndDeadLetter
