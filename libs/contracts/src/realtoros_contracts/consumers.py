"""The durable consumers of the services, by service.

Declared here, beside the streams, so that the NATS permissions can keep them to their
service: another system's read-only user may create consumers of its own on the event
streams but never one of these names (creating a durable that exists with another
config would change it). Every name starts with its service's name (``Bus.durable``
checks that), and a test compares this list with the durables the running services create.
"""

from __future__ import annotations

from collections.abc import Mapping

from realtoros_contracts.events import ALL_EVENTS, PROVIDER_EVENTS, Event


def webhook_durable(event_cls: type[Event]) -> str:
    """The CRM's durable that turns one event type into webhook deliveries."""
    return f"crm-webhooks-{event_cls.ENTITY}-{event_cls.ACTION}"


SERVICE_DURABLES: Mapping[str, tuple[str, ...]] = {
    "crm": (
        "crm-ticks",
        "crm-email-composed",
        "crm-compose-failed",
        "crm-email-sent",
        "crm-email-failed",
        "crm-plans-unsubscribed",
        "crm-client-replied",
        "crm-client-auto-replied",
        *(f"crm-email-{event_cls.ACTION}" for event_cls in PROVIDER_EVENTS),
        # Every event an agent may one day subscribe a webhook to (the CRM's catalogue
        # picks some): protected whether or not its consumer exists yet.
        *(webhook_durable(event_cls) for event_cls in ALL_EVENTS),
    ),
    "scheduler": (),
    "composer": ("composer-task-due", "composer-draft-requested"),
    "mailer": (
        "mailer-email-composed",
        "mailer-email-approved",
        "mailer-client-unsubscribed",
        "mailer-reply-forward",
        "mailer-email-held",
    ),
}
