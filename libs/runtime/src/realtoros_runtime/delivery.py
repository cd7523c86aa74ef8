"""The message being consumed: its envelope and its event, validated once by the consuming
middleware (``realtoros_runtime.consuming``) and read from here by the handler."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from faststream.message import StreamMessage
from faststream.nats.message import NatsMessage

from realtoros_contracts import Envelope, EnvelopeError, Event, Namespace, decode, parse_envelope


@dataclass(slots=True)
class Delivery:
    """The message being handled, its envelope and its event, validated once."""

    msg: NatsMessage
    envelope: Envelope | None = None
    event: Event | None = None


_CURRENT: ContextVar[Delivery | None] = ContextVar("realtoros_delivery", default=None)


def current_message() -> NatsMessage:
    """The message whose handler is running (set by the consuming middleware)."""
    delivery = _CURRENT.get()
    if delivery is None:
        raise RuntimeError("no message is being consumed here")
    return delivery.msg


def validate_message(ns: Namespace, msg: StreamMessage[Any]) -> Envelope:
    """Check the envelope and body against the event published on the message's subject."""
    return validate(ns, msg)[0]


def validate(ns: Namespace, msg: StreamMessage[Any]) -> tuple[Envelope, Event]:
    """The envelope and the event of a message (raises ``EnvelopeError``/``ValidationError``)."""
    subject = msg.raw_message.subject
    event_cls = ns.event_for_subject(subject)
    if event_cls is None:
        raise EnvelopeError(f"no RealtorOS event is published on {subject!r}")
    return decode(event_cls, msg.headers, msg.body)


def envelope_of(msg: StreamMessage[Any]) -> Envelope:
    """The envelope of a message the middleware has already validated (read once)."""
    delivery = _CURRENT.get()
    if delivery is not None and delivery.msg is msg and delivery.envelope is not None:
        return delivery.envelope
    return parse_envelope(msg.headers)


async def validated_event(
    msg: StreamMessage[Any], original: Callable[[StreamMessage[Any]], Awaitable[Any]]
) -> Any:
    """The subscribers' decoder: the event the middleware validated, so the handler's
    argument is not parsed and validated a second time (pydantic passes a model instance
    of the annotated class through as it is)."""
    delivery = _CURRENT.get()
    if delivery is not None and delivery.msg is msg and delivery.event is not None:
        return delivery.event
    return await original(msg)
