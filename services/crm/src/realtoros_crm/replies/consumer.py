"""The consumers of the mailer's inbound events: ``crm-client-replied`` and
``crm-client-auto-replied``, each applied once per event id through the inbox."""

from __future__ import annotations

import logging
from datetime import datetime

from faststream.nats.annotations import NatsMessage
from sqlalchemy.ext.asyncio import AsyncSession

from realtoros_contracts import AutoReplyReceived, ClientReplied
from realtoros_crm.clock import Clock
from realtoros_crm.db import Sessions
from realtoros_crm.messaging.inbox import first_delivery
from realtoros_crm.replies.service import Inbound, record_reply
from realtoros_runtime.bus import Bus
from realtoros_runtime.consuming import envelope_of

log = logging.getLogger(__name__)

REPLIED_DURABLE = "crm-client-replied"
AUTO_REPLIED_DURABLE = "crm-client-auto-replied"


def subscribe_replies(bus: Bus, sessions: Sessions, clock: Clock) -> None:
    async def apply(durable: str, event: Inbound, msg: NatsMessage) -> None:
        event_id = envelope_of(msg).id
        async with sessions() as session, session.begin():
            await _apply_once(session, durable, event_id, event, clock())

    async def _apply_once(
        session: AsyncSession, durable: str, event_id: str, event: Inbound, now: datetime
    ) -> None:
        if not await first_delivery(session, consumer=durable, event_id=event_id, now=now):
            log.info("%s: reply %s was already recorded", durable, event_id)
            return
        await record_reply(session, bus.ns, event, now)

    async def on_client_replied_pause_plans(event: ClientReplied, msg: NatsMessage) -> None:
        await apply(REPLIED_DURABLE, event, msg)

    async def on_auto_reply_record(event: AutoReplyReceived, msg: NatsMessage) -> None:
        await apply(AUTO_REPLIED_DURABLE, event, msg)

    bus.durable(
        bus.ns.subject(ClientReplied),
        producer="mailer",
        durable=REPLIED_DURABLE,
        description="Records a client's reply; pauses their plans, holds their drafts.",
    )(on_client_replied_pause_plans)
    bus.durable(
        bus.ns.subject(AutoReplyReceived),
        producer="mailer",
        durable=AUTO_REPLIED_DURABLE,
        description="Records an automatic answer (out of office…) on the timeline.",
    )(on_auto_reply_record)
