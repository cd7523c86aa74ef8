"""Writing events to the outbox, in the caller's transaction."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from realtoros_contracts import Event, Namespace, encode, envelope_headers
from realtoros_crm.db import after_commit, copy_rows
from realtoros_crm.messaging.models import OutboxMessage
from realtoros_runtime.telemetry import inject_current_context

SOURCE = "realtoros/crm"


OUTBOX_COLUMNS = ["event_id", "subject", "stream", "event_type", "body", "headers", "created_at"]
WAKE_RELAY = "realtoros.wake_relay"
"""The session info key of the relay's ``wake`` (``OutboxRelay.wake_after_commits``)."""


def _wake_relay_after_commit(session: AsyncSession) -> None:
    wake = session.info.get(WAKE_RELAY)
    if wake is not None:
        after_commit(session, wake)


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
    _wake_relay_after_commit(session)
    return message


async def copy_to_outbox(
    session: AsyncSession, ns: Namespace, events: Sequence[tuple[Event, str]], *, now: datetime
) -> None:
    """``add_to_outbox`` for many (event, event id) at once, with COPY (an import's batch
    of new clients: thousands of ORM rows would cost it seconds)."""
    rows = [
        (
            event_id,
            ns.subject(event),
            ns.stream_for(event).name,
            event.TYPE,
            encode(event),
            json.dumps(
                inject_current_context(
                    envelope_headers(event, event_id=event_id, source=SOURCE, time=now)
                )
            ),
            now,
        )
        for event, event_id in events
    ]
    await copy_rows(session, "outbox", OUTBOX_COLUMNS, rows)
    _wake_relay_after_commit(session)
