"""Recording an event: one shape for every event the CRM consumes and records.

A recorder is ``async def record_x(session, event, now) -> Applied``: it writes the inbox
row of the delivery first (``first_delivery``, or fused in its first statement), then the
effect, and never commits. A :class:`Recording` is one line of the CRM's table of them
(realtoros_crm/consumers.py): event type → durable name → recorder. The consumer
(``record``) is the entrypoint: it owns the transaction."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, Literal, TypeVar

from faststream.nats.annotations import NatsMessage
from sqlalchemy.ext.asyncio import AsyncSession

from realtoros_contracts import Event
from realtoros_crm.clock import Clock
from realtoros_crm.db import Sessions
from realtoros_crm.messaging.inbox import InboxKey, delivery_written, expect_delivery
from realtoros_runtime.bus import Bus
from realtoros_runtime.consuming import envelope_of

log = logging.getLogger(__name__)

Applied = Literal["applied", "duplicate", "unknown"]
"""What became of an event: its effect is applied (or rightly ignored), it was a
redelivery, or the CRM has no such record (email, client) for that agent."""

E = TypeVar("E", bound=Event)
Recorder = Callable[[AsyncSession, E, datetime], Awaitable[Applied]]
"""``async def record_x(session, event, now) -> Applied``"""


@dataclass(frozen=True)
class Recording(Generic[E]):
    event: type[E]
    producer: str
    durable: str
    record: Recorder[E]
    handler: str
    """The handler's name (the AsyncAPI operation's)."""
    description: str
    max_workers: int = 1


async def record(
    sessions: Sessions, clock: Clock, recording: Recording[E], event: E, event_id: str
) -> Applied:
    """Apply ``event`` once, in one transaction: its inbox row and its effect."""
    async with sessions() as session, session.begin():
        expect_delivery(session, InboxKey(recording.durable, event_id))
        applied = await recording.record(session, event, clock())
        if not delivery_written(session):
            raise RuntimeError(f"{recording.durable}: the recorder wrote no inbox row")
    if applied == "duplicate":
        log.info("%s: event %s was already applied", recording.durable, event_id)
    elif applied == "unknown":
        log.warning("%s: event %s is about nothing the CRM has", recording.durable, event_id)
    return applied


def subscribe_recordings(
    bus: Bus, sessions: Sessions, clock: Clock, recordings: list[Recording[Any]]
) -> None:
    for recording in recordings:
        bus.durable(
            bus.ns.subject(recording.event),
            producer=recording.producer,
            durable=recording.durable,
            max_workers=recording.max_workers,
            description=recording.description,
        )(handler_of(sessions, clock, recording))


def handler_of(
    sessions: Sessions, clock: Clock, recording: Recording[E]
) -> Callable[[Any, NatsMessage], Awaitable[None]]:
    async def handler(event: Any, msg: NatsMessage) -> None:
        await record(sessions, clock, recording, event, envelope_of(msg).id)

    handler.__name__ = handler.__qualname__ = recording.handler
    handler.__annotations__ = {"event": recording.event, "msg": NatsMessage, "return": None}
    return handler
