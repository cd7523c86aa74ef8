"""Writing events to the outbox, in the caller's transaction."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from realtoros_contracts import Event, Namespace, envelope_headers, outgoing
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


def outbox_headers(
    event: Event, event_id: str, now: datetime, trace: dict[str, str] | None = None
) -> dict[str, str]:
    """The envelope of an outbox row (with ``Nats-Msg-Id`` = event id), fixed now so that a
    re-publish after a crash is byte-for-byte the same message, with the writer's trace
    context (the tick's consume span, the HTTP request: the relay's publish continues that
    trace); ``trace`` when the caller took it once for many rows."""
    envelope = envelope_headers(event, event_id=event_id, source=SOURCE, time=now)
    return envelope | trace if trace is not None else inject_current_context(envelope)


def outbox_envelope(
    event: Event, event_id: str, now: datetime, trace: dict[str, str] | None = None
) -> str:
    """``outbox_headers`` as the JSON a fast-path insert writes."""
    return json.dumps(outbox_headers(event, event_id, now, trace))


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
    out = outgoing(ns, event, event_id=event_id, source=SOURCE, time=now)
    message = OutboxMessage(
        event_id=event_id,
        subject=out.subject,
        stream=out.stream,
        event_type=out.type,
        body=out.body,
        # With the trace context of the writer (the tick's consume span, the HTTP request):
        # the relay's publish continues that trace.
        headers=inject_current_context(out.headers),
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
    built = (
        outgoing(ns, event, event_id=event_id, source=SOURCE, time=now)
        for event, event_id in events
    )
    rows = [
        (
            out.headers["ce-id"],
            out.subject,
            out.stream,
            out.type,
            out.body,
            json.dumps(inject_current_context(out.headers)),
            now,
        )
        for out in built
    ]
    await copy_rows(session, "outbox", OUTBOX_COLUMNS, rows)
    _wake_relay_after_commit(session)
