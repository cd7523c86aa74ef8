"""The consumers of the composer's and the mailer's events. Each handler is the entrypoint:
it owns the transaction, in which the inbox row makes the effect happen once per event."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime

from faststream.nats.annotations import NatsMessage
from sqlalchemy.ext.asyncio import AsyncSession

from realtoros_contracts import (
    ComposeFailed,
    EmailComposed,
    EmailFailed,
    EmailSent,
    Event,
)
from realtoros_crm.clock import Clock
from realtoros_crm.db import Sessions
from realtoros_crm.emails.outcome_consumers import outcome_handlers
from realtoros_crm.emails.service import (
    Applied,
    record_compose_failure,
    record_draft,
    record_failure,
    record_sent,
)
from realtoros_crm.messaging.inbox import InboxKey, first_delivery
from realtoros_runtime.bus import Bus
from realtoros_runtime.consuming import envelope_of

log = logging.getLogger(__name__)

Effect = Callable[[AsyncSession, datetime], Awaitable[bool]]
Step = Callable[[AsyncSession, datetime, InboxKey], Awaitable[Applied]]
Handler = Callable[..., Awaitable[None]]

COMPOSED_DURABLE = "crm-email-composed"
COMPOSE_FAILED_DURABLE = "crm-compose-failed"
SENT_DURABLE = "crm-email-sent"
FAILED_DURABLE = "crm-email-failed"
WORKERS = 4


class EmailEventRecorder:
    """Applies an event's effect once: the inbox row and the effect share a transaction."""

    def __init__(self, sessions: Sessions, clock: Clock) -> None:
        self._sessions = sessions
        self._clock = clock

    async def apply_once(
        self, consumer: str, msg: NatsMessage, email_id: uuid.UUID, effect: Effect
    ) -> None:
        await self.apply(consumer, envelope_of(msg).id, email_id, effect)

    async def apply(
        self, consumer: str, event_id: str, email_id: uuid.UUID, effect: Effect
    ) -> None:
        """``effect`` after the inbox row: for effects that do not write it themselves."""

        async def step(session: AsyncSession, now: datetime, inbox: InboxKey) -> Applied:
            if not await first_delivery(
                session, consumer=inbox.consumer, event_id=inbox.event_id, now=now
            ):
                return "duplicate"
            return "applied" if await effect(session, now) else "unknown"

        await self.apply_step(InboxKey(consumer, event_id), email_id, step)

    async def apply_step(self, inbox: InboxKey, email_id: uuid.UUID, step: Step) -> None:
        """``step`` writes the inbox row itself, in the transaction of its effect."""
        async with self._sessions() as session, session.begin():
            applied = await step(session, self._clock(), inbox)
        if applied == "duplicate":
            log.info("%s: event %s was already applied", inbox.consumer, inbox.event_id)
        elif applied == "unknown":
            log.warning(
                "%s: event %s is about unknown email %s; nothing to do",
                inbox.consumer,
                inbox.event_id,
                email_id,
            )


def _handlers(recorder: EmailEventRecorder) -> list[tuple[type[Event], str, str, Handler]]:
    async def on_email_composed_store_draft(event: EmailComposed, msg: NatsMessage) -> None:
        inbox = InboxKey(COMPOSED_DURABLE, envelope_of(msg).id)
        await recorder.apply_step(
            inbox, event.email_id, lambda s, now, key: record_draft(s, event, now, key)
        )

    async def on_compose_failed_fail_task(event: ComposeFailed, msg: NatsMessage) -> None:
        await recorder.apply_once(
            COMPOSE_FAILED_DURABLE,
            msg,
            event.email_id,
            lambda s, now: record_compose_failure(s, event, now),
        )

    async def on_email_sent_record_delivery(event: EmailSent, msg: NatsMessage) -> None:
        inbox = InboxKey(SENT_DURABLE, envelope_of(msg).id)
        await recorder.apply_step(
            inbox, event.email_id, lambda s, now, key: record_sent(s, event, now, key)
        )

    async def on_email_failed_record_failure(event: EmailFailed, msg: NatsMessage) -> None:
        await recorder.apply_once(
            FAILED_DURABLE, msg, event.email_id, lambda s, now: record_failure(s, event, now)
        )

    return [
        (EmailComposed, "composer", COMPOSED_DURABLE, on_email_composed_store_draft),
        (ComposeFailed, "composer", COMPOSE_FAILED_DURABLE, on_compose_failed_fail_task),
        (EmailSent, "mailer", SENT_DURABLE, on_email_sent_record_delivery),
        (EmailFailed, "mailer", FAILED_DURABLE, on_email_failed_record_failure),
    ]


def subscribe_email_events(bus: Bus, sessions: Sessions, clock: Clock) -> None:
    recorder = EmailEventRecorder(sessions, clock)
    subscriptions = [*_handlers(recorder), *outcome_handlers(recorder, bus.ns)]
    for event_cls, producer, durable, handler in subscriptions:
        bus.durable(
            bus.ns.subject(event_cls),
            producer=producer,
            durable=durable,
            max_workers=WORKERS,
            description=f"Records {event_cls.TYPE} on the email, its task and the timeline.",
        )(handler)
