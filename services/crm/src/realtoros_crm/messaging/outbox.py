"""Writing events to the outbox, in the caller's transaction."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from realtoros_contracts import Event, Namespace, encode, envelope_headers
from realtoros_crm.messaging.models import OutboxMessage
from realtoros_runtime.telemetry import inject_current_context

SOURCE = "realtoros/crm"


def add_to_outbox(
    session: AsyncSession,
    ns: Namespace,
    event: Event,
    *,
    event_id: str,
    now: datetime,
    not_before: datetime | None = None,
) -> OutboxMessage:
    """Queue ``event`` for the relay (at ``not_before`` at the earliest). The envelope (with
    ``Nats-Msg-Id`` = event id) is fixed now, so a re-publish after a crash is byte-for-byte
    the same message."""
    message = OutboxMessage(
        event_id=event_id,
        subject=ns.subject(event),
        stream=ns.stream_for(event).name,
        event_type=event.TYPE,
        body=encode(event),
        # With the trace context of the writer (the tick's consume span, the HTTP request):
        # the relay's publish continues that trace.
        headers=inject_current_context(
            envelope_headers(event, event_id=event_id, source=SOURCE, time=now)
        ),
        not_before=not_before,
    )
    session.add(message)
    return message
