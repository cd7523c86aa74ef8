"""The mailer's consumers: what it sends, on which durable."""

from __future__ import annotations

import logging

from faststream.exceptions import NackMessage
from faststream.nats.annotations import NatsMessage

from realtoros_contracts import ClientUnsubscribed, EmailApproved, EmailComposed
from realtoros_contracts.rendering import missing_sender_details
from realtoros_mailer.pacing import PausedError
from realtoros_mailer.sender import ClaimInProgress, Sender
from realtoros_mailer.suppression import SuppressionSet
from realtoros_runtime.bus import Bus
from realtoros_runtime.consuming import envelope_of

log = logging.getLogger(__name__)

COMPOSED_DURABLE = "mailer-email-composed"
APPROVED_DURABLE = "mailer-email-approved"
UNSUBSCRIBED_DURABLE = "mailer-client-unsubscribed"


def sends_automatically(event: EmailComposed) -> bool:
    """A draft goes out on its own only in automatic mode, when nothing needs review and
    the agent has a signature and a postal address (CAN-SPAM); anything else waits in the
    CRM for the agent (which holds it for the same reasons), whose approval comes as
    EmailApproved."""
    return (
        event.delivery.send_mode == "automatic"
        and not event.needs_review
        and not missing_sender_details(event.delivery)
    )


async def deliver_or_wait(sender: Sender, event: EmailComposed | EmailApproved) -> None:
    """Send, or — while sending is paused, or another mailer's recent claim may still be
    sending it — hand the message back to JetStream to be redelivered later (a nack with
    a delay: the email waits, it does not fail)."""
    try:
        await sender.deliver(event)
    except (PausedError, ClaimInProgress) as exc:
        log.warning("email %s waits %.0fs: %s", event.email_id, exc.delay, exc.reason)
        raise NackMessage(delay=exc.delay) from exc


def register_handlers(
    bus: Bus, sender: Sender, suppression: SuppressionSet, *, max_workers: int = 1
) -> None:
    async def on_email_composed_send(event: EmailComposed, msg: NatsMessage) -> None:
        if not sends_automatically(event):
            log.info(
                "email %s waits for the agent (mode %s, needs review: %s, missing: %s); event %s",
                event.email_id,
                event.delivery.send_mode,
                event.needs_review,
                ", ".join(missing_sender_details(event.delivery)) or "nothing",
                envelope_of(msg).id,
            )
            return
        await deliver_or_wait(sender, event)

    async def on_email_approved_send(event: EmailApproved, msg: NatsMessage) -> None:
        await deliver_or_wait(sender, event)

    async def on_client_unsubscribed_suppress(event: ClientUnsubscribed, msg: NatsMessage) -> None:
        await suppression.add(event.email, "unsubscribed", f"source: {event.source}")

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
    bus.durable(
        bus.ns.subject(ClientUnsubscribed),
        producer="crm",
        durable=UNSUBSCRIBED_DURABLE,
        description="Adds the address of a client who unsubscribed to the suppression set.",
    )(on_client_unsubscribed_suppress)
