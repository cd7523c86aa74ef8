"""The handlers of the provider's reports, relayed by the mailer: one durable
``crm-email-<action>`` each, applied once per event through the recorder's inbox."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from faststream.nats.annotations import NatsMessage

from realtoros_contracts import (
    EmailBounced,
    EmailClicked,
    EmailComplained,
    EmailDelivered,
    EmailDeliveryDelayed,
    EmailOpened,
    EmailRejected,
    Event,
    Namespace,
)
from realtoros_crm.emails.outcomes import (
    record_bounced,
    record_clicked,
    record_complained,
    record_delayed,
    record_delivered,
    record_opened,
    record_rejected,
)

if TYPE_CHECKING:
    from realtoros_crm.emails.consumers import Effect, EmailEventRecorder

Handler = Callable[..., Awaitable[None]]
Subscription = tuple[type[Event], str, str, Handler]


def durable_for(event_cls: type[Event]) -> str:
    return f"crm-email-{event_cls.ACTION}"


def outcome_handlers(recorder: EmailEventRecorder, ns: Namespace) -> list[Subscription]:
    return [*_delivery_handlers(recorder), *_engagement_handlers(recorder, ns)]


def _subscriptions(handlers: list[tuple[type[Event], Handler]]) -> list[Subscription]:
    return [(cls, "mailer", durable_for(cls), handler) for cls, handler in handlers]


def _once(recorder: EmailEventRecorder) -> Callable[[type[Event], NatsMessage, Any, Effect], Any]:
    def apply(cls: type[Event], msg: NatsMessage, event: Any, effect: Effect) -> Any:
        return recorder.apply_once(durable_for(cls), msg, event.email_id, effect)

    return apply


def _delivery_handlers(recorder: EmailEventRecorder) -> list[Subscription]:
    once = _once(recorder)

    async def on_email_delivered_record(event: EmailDelivered, msg: NatsMessage) -> None:
        await once(EmailDelivered, msg, event, lambda s, now: record_delivered(s, event, now))

    async def on_delivery_delayed_record(event: EmailDeliveryDelayed, msg: NatsMessage) -> None:
        await once(EmailDeliveryDelayed, msg, event, lambda s, now: record_delayed(s, event, now))

    async def on_email_rejected_fail(event: EmailRejected, msg: NatsMessage) -> None:
        await once(EmailRejected, msg, event, lambda s, now: record_rejected(s, event, now))

    return _subscriptions(
        [
            (EmailDelivered, on_email_delivered_record),
            (EmailDeliveryDelayed, on_delivery_delayed_record),
            (EmailRejected, on_email_rejected_fail),
        ]
    )


def _engagement_handlers(recorder: EmailEventRecorder, ns: Namespace) -> list[Subscription]:
    once = _once(recorder)

    async def on_email_opened_count(event: EmailOpened, msg: NatsMessage) -> None:
        await once(EmailOpened, msg, event, lambda s, now: record_opened(s, event, now))

    async def on_email_clicked_count(event: EmailClicked, msg: NatsMessage) -> None:
        await once(EmailClicked, msg, event, lambda s, now: record_clicked(s, event, now))

    async def on_email_bounced_record(event: EmailBounced, msg: NatsMessage) -> None:
        await once(EmailBounced, msg, event, lambda s, now: record_bounced(s, ns, event, now))

    async def on_email_complained_unsubscribe(event: EmailComplained, msg: NatsMessage) -> None:
        await once(EmailComplained, msg, event, lambda s, now: record_complained(s, ns, event, now))

    return _subscriptions(
        [
            (EmailOpened, on_email_opened_count),
            (EmailClicked, on_email_clicked_count),
            (EmailBounced, on_email_bounced_record),
            (EmailComplained, on_email_complained_unsubscribe),
        ]
    )
