"""Every event the CRM records, in one table: event type → durable name → recorder.

Each recorder is ``record_x(session, event, now) -> Applied`` (messaging/recording.py):
the inbox row of the delivery, then the effect, in the consumer's transaction. The
scheduler's tick is not recorded but claimed (claims/consumer.py); the webhooks' fan-out
has its own consumers (webhooks/fanout.py)."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from realtoros_contracts import Event, Namespace
from realtoros_contracts import events as ev
from realtoros_crm.clock import Clock
from realtoros_crm.db import Sessions
from realtoros_crm.emails import outcomes
from realtoros_crm.emails.service import (
    record_compose_failure,
    record_draft,
    record_failure,
    record_sent,
)
from realtoros_crm.messaging.inbox import first_delivery
from realtoros_crm.messaging.recording import (
    Applied,
    E,
    Recorder,
    Recording,
    subscribe_recordings,
)
from realtoros_crm.plans.lifecycle import stop_client_plans
from realtoros_crm.replies.service import Inbound, record_reply
from realtoros_runtime.bus import Bus

log = logging.getLogger(__name__)

COMPOSED_DURABLE = "crm-email-composed"
COMPOSE_FAILED_DURABLE = "crm-compose-failed"
SENT_DURABLE = "crm-email-sent"
FAILED_DURABLE = "crm-email-failed"
REPLIED_DURABLE = "crm-client-replied"
AUTO_REPLIED_DURABLE = "crm-client-auto-replied"
UNSUBSCRIBED_DURABLE = "crm-plans-unsubscribed"
EMAIL_WORKERS = 4


def outcome_durable(event_cls: type[Event]) -> str:
    """The durable of one of the provider's reports, relayed by the mailer."""
    return f"crm-email-{event_cls.ACTION}"


def recordings(ns: Namespace) -> list[Recording[Any]]:
    """The table (``ns``: for the recorders that write events to the outbox)."""

    def email(
        event: type[E], producer: str, durable: str, record: Recorder[E], handler: str
    ) -> Recording[E]:
        description = f"Records {event.TYPE} on the email, its task and the timeline."
        return Recording(event, producer, durable, record, handler, description, EMAIL_WORKERS)

    def outcome(event: type[E], record: Recorder[E], handler: str) -> Recording[E]:
        return email(event, "mailer", outcome_durable(event), record, handler)

    async def record_bounced(s: AsyncSession, event: ev.EmailBounced, now: datetime) -> Applied:
        return await outcomes.record_bounced(s, ns, event, now)

    async def record_complained(
        s: AsyncSession, event: ev.EmailComplained, now: datetime
    ) -> Applied:
        return await outcomes.record_complained(s, ns, event, now)

    async def record_inbound(s: AsyncSession, event: Inbound, now: datetime) -> Applied:
        if not await first_delivery(s, now):
            return "duplicate"
        return "applied" if await record_reply(s, ns, event, now) else "unknown"

    return [
        email(
            ev.EmailComposed,
            "composer",
            COMPOSED_DURABLE,
            record_draft,
            "on_email_composed_store_draft",
        ),
        email(
            ev.ComposeFailed,
            "composer",
            COMPOSE_FAILED_DURABLE,
            record_compose_failure,
            "on_compose_failed_fail_task",
        ),
        email(ev.EmailSent, "mailer", SENT_DURABLE, record_sent, "on_email_sent_record_delivery"),
        email(
            ev.EmailFailed,
            "mailer",
            FAILED_DURABLE,
            record_failure,
            "on_email_failed_record_failure",
        ),
        outcome(ev.EmailDelivered, outcomes.record_delivered, "on_email_delivered_record"),
        outcome(ev.EmailDeliveryDelayed, outcomes.record_delayed, "on_delivery_delayed_record"),
        outcome(ev.EmailRejected, outcomes.record_rejected, "on_email_rejected_fail"),
        outcome(ev.EmailOpened, outcomes.record_opened, "on_email_opened_count"),
        outcome(ev.EmailClicked, outcomes.record_clicked, "on_email_clicked_count"),
        outcome(ev.EmailBounced, record_bounced, "on_email_bounced_record"),
        outcome(ev.EmailComplained, record_complained, "on_email_complained_unsubscribe"),
        Recording(
            ev.ClientReplied,
            "mailer",
            REPLIED_DURABLE,
            record_inbound,
            "on_client_replied_pause_plans",
            "Records a client's reply; pauses their plans, holds their drafts.",
        ),
        Recording(
            ev.AutoReplyReceived,
            "mailer",
            AUTO_REPLIED_DURABLE,
            record_inbound,
            "on_auto_reply_record",
            "Records an automatic answer (out of office…) on the timeline.",
        ),
        Recording(
            ev.ClientUnsubscribed,
            "crm",
            UNSUBSCRIBED_DURABLE,
            record_unsubscribed,
            "on_client_unsubscribed_stop_plans",
            "Stops the client's follow-up plans when they unsubscribe.",
        ),
    ]


async def record_unsubscribed(
    session: AsyncSession, event: ev.ClientUnsubscribed, now: datetime
) -> Applied:
    """Plans stop as soon as a client unsubscribes, whatever the way (link, one-click, the
    agent, a bounce, a complaint): the CRM consumes its own ClientUnsubscribed."""
    if not await first_delivery(session, now):
        return "duplicate"
    reason = f"client unsubscribed ({event.source})"
    if stopped := await stop_client_plans(session, event.client_id, reason, now):
        log.info("client %s unsubscribed: %d plan(s) stopped", event.client_id, stopped)
    return "applied"


def subscribe_records(bus: Bus, sessions: Sessions, clock: Clock) -> None:
    subscribe_recordings(bus, sessions, clock, recordings(bus.ns))
