"""From the JetStream events to webhook deliveries: one durable consumer per webhook type
(``crm-webhooks-<entity>-<action>``), in the CRM because the endpoints, their scopes and the
delivery log live in its database and the agents manage them in its web app (a service
of its own would need the same tables, or an API to them, for nothing gained).

The handler writes one delivery row per subscribed, enabled endpoint of the event's agent,
with the payload fixed now (the client's contact details only for an endpoint with
``clients:read``). The unique (endpoint, event id) makes a redelivered event a no-op. An
endpoint hears only of events that happened after it was created: a new durable starts at
the stream's beginning, and a new endpoint must not receive last week."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from faststream.nats.annotations import NatsMessage
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from realtoros_contracts import Event
from realtoros_crm.clients.models import Client
from realtoros_crm.clock import Clock
from realtoros_crm.db import Sessions
from realtoros_crm.webhooks.catalogue import (
    CONTACT_SCOPE,
    WEBHOOK_TYPES,
    ClientContact,
    WebhookType,
)
from realtoros_crm.webhooks.models import WebhookDelivery, WebhookEndpoint
from realtoros_runtime.bus import Bus
from realtoros_runtime.consuming import envelope_of

log = logging.getLogger(__name__)


class WebhookFanout:
    def __init__(self, sessions: Sessions, clock: Clock, on_queued: Callable[[], None]) -> None:
        self._sessions = sessions
        self._clock = clock
        self._on_queued = on_queued

    async def queue(
        self, webhook_type: WebhookType, event: Any, event_id: str, at: datetime
    ) -> int:
        """Queue the event for its agent's endpoints; returns how many deliveries are new."""
        async with self._sessions() as session, session.begin():
            endpoints = await _subscribed(session, event.agent_id, webhook_type.name, at)
            if not endpoints:
                return 0
            contact = None
            if any(CONTACT_SCOPE in endpoint.scopes for endpoint in endpoints):
                contact = await _contact(session, event.client_id)
            now = self._clock()
            rows = [
                _delivery(endpoint, webhook_type, event, event_id, at, contact, now)
                for endpoint in endpoints
            ]
            statement = (
                insert(WebhookDelivery)
                .values(rows)
                .on_conflict_do_nothing(index_elements=["endpoint_id", "event_id"])
            )
            queued = (await session.execute(statement.returning(WebhookDelivery.id))).all()
        if queued:
            self._on_queued()
        return len(queued)


def _delivery(
    endpoint: WebhookEndpoint,
    webhook_type: WebhookType,
    event: Event,
    event_id: str,
    at: datetime,
    contact: ClientContact | None,
    now: datetime,
) -> dict[str, Any]:
    shown = contact if CONTACT_SCOPE in endpoint.scopes else None
    return {
        "id": uuid.uuid4(),
        "endpoint_id": endpoint.id,
        "agent_id": endpoint.agent_id,
        "event_id": event_id,
        "event_type": webhook_type.name,
        "payload": webhook_type.payload(event, shown, at),
        "status": "pending",
        "attempts": 0,
        "next_attempt_at": now,
        "created_at": now,
    }


async def _subscribed(
    session: AsyncSession, agent_id: uuid.UUID, type_name: str, at: datetime
) -> list[WebhookEndpoint]:
    statement = select(WebhookEndpoint).where(
        WebhookEndpoint.agent_id == agent_id,
        WebhookEndpoint.enabled.is_(True),
        WebhookEndpoint.event_types.contains([type_name]),
        WebhookEndpoint.created_at <= at,
    )
    return list((await session.scalars(statement)).all())


async def _contact(session: AsyncSession, client_id: uuid.UUID) -> ClientContact | None:
    row = (
        await session.execute(
            select(Client.name, Client.email, Client.phone).where(Client.id == client_id)
        )
    ).one_or_none()
    return ClientContact(name=row.name, email=row.email, phone=row.phone) if row else None


def subscribe_webhook_events(bus: Bus, fanout: WebhookFanout) -> None:
    for webhook_type in WEBHOOK_TYPES:
        bus.durable(
            bus.ns.subject(webhook_type.event),
            producer=webhook_type.event.PRODUCER,
            durable=webhook_type.durable,
            description=f"Queues the '{webhook_type.name}' webhook for subscribed endpoints.",
        )(_handler(webhook_type, fanout))


def _handler(webhook_type: WebhookType, fanout: WebhookFanout) -> Callable[..., Any]:
    async def on_event_queue_webhooks(event: Event, msg: NatsMessage) -> None:
        envelope = envelope_of(msg)
        await fanout.queue(webhook_type, event, envelope.id, envelope.time)

    # FastStream decodes the body into the handler's annotated type: this type's event.
    on_event_queue_webhooks.__annotations__ = {
        "event": webhook_type.event,
        "msg": NatsMessage,
        "return": None,
    }
    return on_event_queue_webhooks
