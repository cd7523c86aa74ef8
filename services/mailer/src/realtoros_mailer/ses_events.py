"""SES event notifications (configuration-set event publishing, or identity
notifications) turned into the contract's provider events.

The email is found through the message tags the mailer set on ``SendEmail``
(``mail.tags``: email_id, task_id, agent_id, client_id); ``provider_message_id`` is the SES
message id. A notification without our tags (not an email of ours) yields no event.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from realtoros_contracts import (
    EmailBounced,
    EmailClicked,
    EmailComplained,
    EmailDelivered,
    EmailDeliveryDelayed,
    EmailOpened,
    EmailRejected,
    Event,
)

ID_TAGS = ("email_id", "task_id", "agent_id", "client_id")
BOUNCE_TYPES: dict[str, Literal["permanent", "transient", "undetermined"]] = {
    "Permanent": "permanent",
    "Transient": "transient",
    "Undetermined": "undetermined",
}


class UnusableNotification(ValueError):
    """The SES notification is malformed (not what SES sends)."""


@dataclass
class Outcome:
    """What one SES notification means: the event to publish (None when the email is not
    ours, or the type is not one we report) and the addresses to suppress."""

    kind: str
    event: Event | None = None
    suppress: list[tuple[str, Literal["bounce", "complaint"]]] = field(default_factory=list)


def _text(value: object, limit: int) -> str:
    return str(value)[:limit] if value is not None else ""


def _when(section: dict[str, Any], mail: dict[str, Any]) -> datetime:
    raw = section.get("timestamp") or mail.get("timestamp")
    try:
        when = datetime.fromisoformat(str(raw).replace("Z", "+00:00"))
    except ValueError:
        return datetime.now(UTC)
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _ids(mail: dict[str, Any]) -> dict[str, uuid.UUID] | None:
    tags = mail.get("tags")
    if not isinstance(tags, dict):
        return None
    ids = {}
    for name in ID_TAGS:
        values = tags.get(name)
        value = values[0] if isinstance(values, list) and values else values
        try:
            ids[name] = uuid.UUID(str(value))
        except ValueError:
            return None
    return ids


def _addresses(section: dict[str, Any], key: str) -> list[str]:
    found = section.get(key)
    if not isinstance(found, list):
        return []
    return [str(r["emailAddress"]) for r in found if isinstance(r, dict) and "emailAddress" in r]


def _event(kind: str, section: dict[str, Any], common: dict[str, Any]) -> Event | None:
    if kind == "Delivery":
        return EmailDelivered(**common)
    if kind == "Bounce":
        recipients = _addresses(section, "bouncedRecipients")
        diagnostics = [
            str(r.get("diagnosticCode", ""))
            for r in section.get("bouncedRecipients") or []
            if isinstance(r, dict)
        ]
        return EmailBounced(
            **common,
            bounce_type=BOUNCE_TYPES.get(str(section.get("bounceType")), "undetermined"),
            bounce_subtype=_text(section.get("bounceSubType"), 100),
            recipients=recipients,
            diagnostic=_text("; ".join(d for d in diagnostics if d), 2000),
        )
    if kind == "Complaint":
        complaint_type = section.get("complaintFeedbackType") or section.get("complaintSubType")
        return EmailComplained(**common, complaint_type=_text(complaint_type, 100))
    if kind == "Reject":
        return EmailRejected(**common, reason=_text(section.get("reason"), 2000))
    if kind == "Open":
        return EmailOpened(**common, user_agent=_text(section.get("userAgent"), 500))
    if kind == "Click":
        return EmailClicked(
            **common,
            link=_text(section.get("link"), 2000),
            user_agent=_text(section.get("userAgent"), 500),
        )
    if kind == "DeliveryDelay":
        return EmailDeliveryDelayed(**common, delay_type=_text(section.get("delayType"), 100))
    return None


SECTIONS = {
    "Delivery": "delivery",
    "Bounce": "bounce",
    "Complaint": "complaint",
    "Reject": "reject",
    "Open": "open",
    "Click": "click",
    "DeliveryDelay": "deliveryDelay",
}


def interpret(notification: dict[str, Any]) -> Outcome:
    """The meaning of one SES notification (the JSON inside the SNS ``Message``)."""
    kind = notification.get("eventType") or notification.get("notificationType")
    mail = notification.get("mail")
    if not isinstance(kind, str) or not isinstance(mail, dict):
        raise UnusableNotification("not an SES notification (no eventType and mail)")
    section = notification.get(SECTIONS.get(kind, ""), {})
    if not isinstance(section, dict):
        raise UnusableNotification(f"the {kind} section is not an object")
    outcome = Outcome(kind=kind)
    if kind == "Bounce" and section.get("bounceType") == "Permanent":
        outcome.suppress = [(a, "bounce") for a in _addresses(section, "bouncedRecipients")]
    elif kind == "Complaint":
        outcome.suppress = [(a, "complaint") for a in _addresses(section, "complainedRecipients")]
    ids = _ids(mail)
    message_id = mail.get("messageId")
    if ids is None or not isinstance(message_id, str) or kind not in SECTIONS:
        return outcome
    common: dict[str, Any] = {
        **ids,
        "provider_message_id": message_id[:300],
        "occurred_at": _when(section, mail),
    }
    outcome.event = _event(kind, section, common)
    return outcome
