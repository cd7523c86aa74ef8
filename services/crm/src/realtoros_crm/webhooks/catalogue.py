"""The webhook event types an agent can subscribe to, each fed by one JetStream event,
and the payloads they carry (JSON Schemas exported for docs/events.md and the AsyncAPI
document). Adding a type is one line in ``WEBHOOK_TYPES``.

A payload follows the Standard Webhooks shape ``{"type", "timestamp", "data"}``. ``data``
carries ids, stages and outcomes; the client's name, email and phone only for an endpoint
whose scopes include ``clients:read`` (``data.client``; for ``client.replied`` also
``data.reply``, the subject and new text of the reply). Nothing else personal: no email
addresses of bounce recipients, no diagnostics, no user agents."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, Field, create_model

from realtoros_contracts import (
    ClientCreated,
    ClientReplyRecorded,
    ClientUnsubscribed,
    ClientUpdated,
    EmailBounced,
    EmailClicked,
    EmailDelivered,
    EmailOpened,
    EmailSent,
    Event,
    TaskCompleted,
)
from realtoros_contracts.consumers import webhook_durable

CONTACT_SCOPE = "clients:read"
PAYLOAD_SCOPES = ("events:read", CONTACT_SCOPE)


class ClientContact(BaseModel):
    """The client's contact details: only for an endpoint with the ``clients:read`` scope."""

    name: str
    email: str
    phone: str | None = None


class WebhookData(BaseModel):
    client_id: uuid.UUID
    client: ClientContact | None = Field(
        default=None, description="Present only when the endpoint has the clients:read scope."
    )

    @classmethod
    def of(cls, event: Event, contact: ClientContact | None) -> WebhookData:
        """The event's fields this payload shows (by name), and the contact if allowed."""
        shown = {name: getattr(event, name) for name in cls.model_fields if hasattr(event, name)}
        return cls.model_validate({**shown, "client": contact})


class ClientCreatedData(WebhookData):
    stage: str
    source: str | None = None
    created_at: AwareDatetime


class ClientUpdatedData(WebhookData):
    changed: list[str] = Field(description="The names of the fields that changed.")
    stage: str
    updated_at: AwareDatetime


class ClientUnsubscribedData(WebhookData):
    source: str = Field(description="link, one-click, agent, complaint or bounce")
    unsubscribed_at: AwareDatetime


class TaskCompletedData(WebhookData):
    task_id: uuid.UUID
    task_type: str
    purpose: str
    completed_at: AwareDatetime


class ReplyContent(BaseModel):
    """What the client wrote (untrusted text, the new part only, cut to 2000 characters):
    only for an endpoint with the ``clients:read`` scope."""

    subject: str
    text: str


class ClientRepliedData(WebhookData):
    reply_id: uuid.UUID
    email_id: uuid.UUID | None = Field(
        default=None, description="The email answered (None when matched by the sender only)."
    )
    received_at: AwareDatetime
    unsubscribe_requested: bool = Field(description="The reply asked to stop.")
    reply: ReplyContent | None = Field(
        default=None, description="Present only when the endpoint has the clients:read scope."
    )

    @classmethod
    def of(cls, event: Event, contact: ClientContact | None) -> WebhookData:
        data = super().of(event, contact)
        if contact is None or not isinstance(event, ClientReplyRecorded):
            return data
        content = ReplyContent(subject=event.subject, text=event.text)
        return data.model_copy(update={"reply": content})


class EmailData(WebhookData):
    email_id: uuid.UUID
    task_id: uuid.UUID


class EmailSentData(EmailData):
    sent_at: AwareDatetime


class EmailOutcomeData(EmailData):
    occurred_at: AwareDatetime


class EmailBouncedData(EmailOutcomeData):
    bounce_type: Literal["permanent", "transient", "undetermined"]
    bounce_subtype: str


class EmailClickedData(EmailOutcomeData):
    link: str


@dataclass(frozen=True)
class WebhookType:
    name: str
    event: type[Event]
    data: type[WebhookData]
    summary: str

    @property
    def durable(self) -> str:
        return webhook_durable(self.event)

    def payload(self, event: Event, contact: ClientContact | None, at: datetime) -> bytes:
        data = self.data.of(event, contact)
        body: dict[str, Any] = {"type": self.name, "timestamp": at, "data": data}
        return payload_model(self).model_validate(body).model_dump_json(exclude_none=True).encode()


WEBHOOK_TYPES: tuple[WebhookType, ...] = (
    WebhookType("client.created", ClientCreated, ClientCreatedData, "A client was added."),
    WebhookType("client.updated", ClientUpdated, ClientUpdatedData, "A client's fields changed."),
    WebhookType("client.unsubscribed", ClientUnsubscribed, ClientUnsubscribedData, "Unsubscribed."),
    WebhookType("client.replied", ClientReplyRecorded, ClientRepliedData, "The client replied."),
    WebhookType("task.completed", TaskCompleted, TaskCompletedData, "A task was marked done."),
    WebhookType("email.sent", EmailSent, EmailSentData, "A follow-up email was sent."),
    WebhookType("email.delivered", EmailDelivered, EmailOutcomeData, "Delivered."),
    WebhookType("email.opened", EmailOpened, EmailOutcomeData, "Opened."),
    WebhookType("email.clicked", EmailClicked, EmailClickedData, "A link was clicked."),
    WebhookType("email.bounced", EmailBounced, EmailBouncedData, "It bounced."),
)  # fmt: skip
TYPES_BY_NAME = {webhook_type.name: webhook_type for webhook_type in WEBHOOK_TYPES}
EVENT_TYPE_NAMES: tuple[str, ...] = tuple(TYPES_BY_NAME)

_ENVELOPES: dict[str, type[BaseModel]] = {}


def payload_model(webhook_type: WebhookType) -> type[BaseModel]:
    """The payload model of one type: ``{"type": <name>, "timestamp", "data": <its data>}``."""
    if webhook_type.name not in _ENVELOPES:
        name = "".join(part.title() for part in webhook_type.name.split(".")) + "Webhook"
        _ENVELOPES[webhook_type.name] = create_model(
            name,
            __doc__=webhook_type.summary,
            type=(Literal[webhook_type.name], ...),  # type: ignore[arg-type]
            timestamp=(AwareDatetime, Field(description="When the event happened.")),
            data=(webhook_type.data, ...),
        )
    return _ENVELOPES[webhook_type.name]


def webhook_schemas() -> dict[str, dict[str, Any]]:
    """The JSON Schema of every webhook payload, by type name."""
    return {t.name: payload_model(t).model_json_schema() for t in WEBHOOK_TYPES}
