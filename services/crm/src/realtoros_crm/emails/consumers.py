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
    record_compose_failure,
    record_draft,
    record_failure,
    record_sent,
)
from realtoros_crm.messaging.inbox import first_delivery
from realtoros_runtime.consuming import envelope_of
from realtoros_runtime.worker import Bus

log = logging.getLogger(__name__)

Effect = Callable[[AsyncSession, datetime], Awaitable[bool]]
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
        event_id = envelope_of(msg).id
        async with self._sessions() as session, session.begin():
            now = self._clock()
            if not await first_delivery(session, consumer=consumer, event_id=event_id, now=now):
                log.info("%s: event %s was already applied", consumer, event_id)
                return
            if not await effect(session, now):
                log.warning(
                    "%s: event %s is about unknown email %s; nothing to do",
                    consumer,
                    event_id,
                    email_id,
                )


def _handlers(recorder: EmailEventRecorder) -> list[tuple[type[Event], str, str, Handler]]:
    async def on_email_composed_store_draft(event: EmailComposed, msg: NatsMessage) -> None:
        await recorder.apply_once(
            COMPOSED_DURABLE, msg, event.email_id, lambda s, now: record_draft(s, event, now)
        )

    async def on_compose_failed_fail_task(event: ComposeFailed, msg: NatsMessage) -> None:
        await recorder.apply_once(
            COMPOSE_FAILED_DURABLE,
            msg,
            event.email_id,
            lambda s, now: record_compose_failure(s, event, now),
        )

    async def on_email_sent_record_delivery(event: EmailSent, msg: NatsMessage) -> None:
        await recorder.apply_once(
            SENT_DURABLE, msg, event.email_id, lambda s, now: record_sent(s, event, now)
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
