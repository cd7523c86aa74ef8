"""The envelope: CloudEvents 1.0 attributes in NATS headers, the event's JSON as the body.

The event id is also the ``Nats-Msg-Id`` so that JetStream drops a re-publish inside the
stream's duplicate window; consumers de-duplicate by the same id beyond it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypeVar

from realtoros_contracts.events import EVENTS_BY_TYPE, Event
from realtoros_contracts.subjects import Namespace

E = TypeVar("E", bound=Event)

SPECVERSION = "1.0"
H_ID = "ce-id"
H_SOURCE = "ce-source"
H_TYPE = "ce-type"
H_TIME = "ce-time"
H_SUBJECT = "ce-subject"
H_SPECVERSION = "ce-specversion"
H_CONTENT_TYPE = "content-type"
H_MSG_ID = "Nats-Msg-Id"
CONTENT_TYPE = "application/json"
ENVELOPE_HEADERS = (H_SPECVERSION, H_ID, H_SOURCE, H_TYPE, H_TIME, H_SUBJECT, H_CONTENT_TYPE)


class EnvelopeError(ValueError):
    """A message whose headers are not a valid RealtorOS envelope."""


@dataclass(frozen=True)
class Envelope:
    id: str
    source: str
    type: str
    time: datetime
    subject: str


def envelope_headers(
    event: Event, *, event_id: str, source: str, time: datetime | None = None
) -> dict[str, str]:
    """The NATS headers that carry an event's envelope."""
    if not event_id:
        raise ValueError("event_id must not be empty")
    at = (time or datetime.now(UTC)).astimezone(UTC)
    return {
        H_SPECVERSION: SPECVERSION,
        H_ID: event_id,
        H_SOURCE: source,
        H_TYPE: event.TYPE,
        H_TIME: at.isoformat(),
        H_SUBJECT: event.ce_subject(),
        H_CONTENT_TYPE: CONTENT_TYPE,
        H_MSG_ID: event_id,
    }


def encode(event: Event) -> bytes:
    """The body of the message: the event's JSON."""
    return event.model_dump_json().encode()


@dataclass(frozen=True, slots=True)
class Outgoing:
    """An event ready to publish: where it goes and the bytes and headers it travels as."""

    subject: str
    stream: str
    type: str
    body: bytes
    headers: dict[str, str]


def outgoing(
    ns: Namespace, event: Event, *, event_id: str, source: str, time: datetime | None = None
) -> Outgoing:
    """The one envelope builder: what a publisher sends and what the CRM's outbox stores
    (both built here, so a re-published outbox row is the message a direct publish is)."""
    return Outgoing(
        subject=ns.subject(event),
        stream=ns.stream_for(event).name,
        type=event.TYPE,
        body=encode(event),
        headers=envelope_headers(event, event_id=event_id, source=source, time=time),
    )


def parse_envelope(headers: Mapping[str, str] | None) -> Envelope:
    """Read the envelope from a message's headers, or raise :class:`EnvelopeError`."""
    headers = headers or {}
    missing = [h for h in (H_ID, H_SOURCE, H_TYPE, H_TIME) if not headers.get(h)]
    if missing:
        raise EnvelopeError(f"missing CloudEvents header(s): {', '.join(missing)}")
    if headers.get(H_SPECVERSION, SPECVERSION) != SPECVERSION:
        raise EnvelopeError(f"unsupported ce-specversion {headers[H_SPECVERSION]!r}")
    try:
        time = datetime.fromisoformat(headers[H_TIME])
    except ValueError as exc:
        raise EnvelopeError(f"ce-time is not an ISO 8601 time: {headers[H_TIME]!r}") from exc
    if time.tzinfo is None:
        raise EnvelopeError("ce-time has no time zone")
    return Envelope(
        id=headers[H_ID],
        source=headers[H_SOURCE],
        type=headers[H_TYPE],
        time=time,
        subject=headers.get(H_SUBJECT, ""),
    )


def decode(
    event_cls: type[E], headers: Mapping[str, str] | None, body: bytes
) -> tuple[Envelope, E]:
    """Validate a message as ``event_cls``: envelope first, then the body.

    Raises :class:`EnvelopeError` or :class:`pydantic.ValidationError`.
    """
    envelope = parse_envelope(headers)
    if envelope.type != event_cls.TYPE:
        known = "known" if envelope.type in EVENTS_BY_TYPE else "unknown"
        raise EnvelopeError(
            f"expected ce-type {event_cls.TYPE!r}, got {known} type {envelope.type!r}"
        )
    return envelope, event_cls.model_validate_json(body)


def headers_schema(event_cls: type[Event], source: str) -> dict[str, object]:
    """The JSON Schema of the NATS headers an event travels with (its envelope), for the
    AsyncAPI documents: the same names :func:`envelope_headers` writes."""
    text = {"type": "string"}
    properties: dict[str, object] = {
        H_SPECVERSION: {**text, "const": SPECVERSION},
        H_ID: {**text, "minLength": 1, "description": "The event id: de-duplicate by it."},
        H_SOURCE: {**text, "const": source},
        H_TYPE: {**text, "const": event_cls.TYPE},
        H_TIME: {**text, "format": "date-time", "description": "When it happened (UTC)."},
        H_SUBJECT: {**text, "description": "What the event is about (e.g. the email id)."},
        H_CONTENT_TYPE: {**text, "const": CONTENT_TYPE},
        H_MSG_ID: {**text, "description": "Equal to ce-id: JetStream's de-duplication key."},
        "traceparent": {**text, "description": "W3C trace context, when tracing is on."},
    }
    required = [h for h in properties if h != "traceparent"]
    return {"type": "object", "properties": properties, "required": required}
