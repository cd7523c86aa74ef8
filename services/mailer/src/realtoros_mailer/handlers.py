"""The mailer's consumers: what it sends, on which durable."""

from __future__ import annotations

import logging

from faststream.nats.annotations import NatsMessage

from realtoros_contracts import EmailApproved, EmailComposed
from realtoros_mailer.sender import Sender
from realtoros_runtime.consuming import envelope_of
from realtoros_runtime.worker import Bus

log = logging.getLogger(__name__)

COMPOSED_DURABLE = "mailer-email-composed"
APPROVED_DURABLE = "mailer-email-approved"


def sends_automatically(event: EmailComposed) -> bool:
    """A draft goes out on its own only in automatic mode and when nothing needs review;
    anything else waits in the CRM for the agent, whose approval comes as EmailApproved."""
    return event.delivery.send_mode == "automatic" and not event.needs_review


def register_handlers(bus: Bus, sender: Sender, *, max_workers: int = 1) -> None:
    async def on_email_composed_send(event: EmailComposed, msg: NatsMessage) -> None:
        if not sends_automatically(event):
            log.info(
                "email %s waits for the agent (mode %s, needs review: %s); event %s",
                event.email_id,
                event.delivery.send_mode,
                event.needs_review,
                envelope_of(msg).id,
            )
            return
        await sender.deliver(event)

    async def on_email_approved_send(event: EmailApproved, msg: NatsMessage) -> None:
        await sender.deliver(event)

    # Registered by call rather than as decorators: Bus.durable is typed Any.
    bus.durable(
        bus.ns.subject(EmailComposed),
        producer="composer",
        durable=COMPOSED_DURABLE,
        max_workers=max_workers,
        description="Sends automatic-mode drafts that need no review.",
    )(on_email_composed_send)
    bus.durable(
        bus.ns.subject(EmailApproved),
        producer="crm",
        durable=APPROVED_DURABLE,
        max_workers=max_workers,
        description="Sends exactly the text the agent approved.",
    )(on_email_approved_send)
