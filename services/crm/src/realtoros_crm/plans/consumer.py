"""Plans stop as soon as a client unsubscribes, whatever the way (link, one-click, the
agent, a bounce, a complaint): the CRM consumes its own ClientUnsubscribed."""

from __future__ import annotations

import logging

from faststream.nats.annotations import NatsMessage

from realtoros_contracts import ClientUnsubscribed
from realtoros_crm.clock import Clock
from realtoros_crm.db import Sessions
from realtoros_crm.messaging.inbox import first_delivery
from realtoros_crm.plans.runs import stop_client_plans
from realtoros_runtime.bus import Bus
from realtoros_runtime.consuming import envelope_of

log = logging.getLogger(__name__)

UNSUBSCRIBED_DURABLE = "crm-plans-unsubscribed"


def subscribe_plan_events(bus: Bus, sessions: Sessions, clock: Clock) -> None:
    async def on_client_unsubscribed_stop_plans(
        event: ClientUnsubscribed, msg: NatsMessage
    ) -> None:
        event_id = envelope_of(msg).id
        async with sessions() as session, session.begin():
            now = clock()
            if not await first_delivery(
                session, consumer=UNSUBSCRIBED_DURABLE, event_id=event_id, now=now
            ):
                return
            stopped = await stop_client_plans(
                session, event.client_id, f"client unsubscribed ({event.source})", now
            )
        if stopped:
            log.info("client %s unsubscribed: %d plan(s) stopped", event.client_id, stopped)

    bus.durable(
        bus.ns.subject(ClientUnsubscribed),
        producer="crm",
        durable=UNSUBSCRIBED_DURABLE,
        description="Stops the client's follow-up plans when they unsubscribe.",
    )(on_client_unsubscribed_stop_plans)
