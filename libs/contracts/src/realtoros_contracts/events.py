"""The events of the follow-up loop.

One pydantic model per event, versioned in its type name (``realtoros.task.due.v1``).
Adding an optional field is compatible; anything else is a new version published
beside the old one. Consumers ignore fields they do not know, so producers can add
optional fields without breaking anyone.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, ClassVar, Literal
from uuid import UUID

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field

SendMode = Literal["automatic", "approval"]
ComposerKind = Literal["llm", "template"]
Transport = Literal["ses", "file", "smtp"]

ShortText = Annotated[str, Field(max_length=1000)]


_CONTROL_CHARS = re.compile("[\x00-\x1f\x7f]")
"""Code points below 32 and DEL (one regex search: these run on every header of every event)."""


def _no_control_chars(value: str) -> str:
    if _CONTROL_CHARS.search(value):
        raise ValueError("must not contain control characters (CR, LF, …)")
    return value


HeaderText = Annotated[str, Field(max_length=300), AfterValidator(_no_control_chars)]


class Event(BaseModel):
    """Base of every event: the class knows its CloudEvents type and its producer."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    TYPE: ClassVar[str]
    """CloudEvents ``type`` and the versioned name of the event."""
    PRODUCER: ClassVar[str]
    """The service that publishes it; the first part of its subject."""
    ENTITY: ClassVar[str]
    ACTION: ClassVar[str]

    def ce_subject(self) -> str:
        """CloudEvents ``subject``: the id of the thing the event is about."""
        return ""


# --- shared parts -------------------------------------------------------------------------


class ClientContext(BaseModel):
    """What the composer may know of the client. Free text here is untrusted data."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    name: str = Field(max_length=200)
    email: str = Field(max_length=320)
    stage: str = Field(max_length=40)
    phone: str | None = Field(default=None, max_length=40)
    property_address: str | None = Field(default=None, max_length=500)
    property_type: str | None = Field(default=None, max_length=40)
    notes: str | None = Field(default=None, max_length=10_000)
    custom_fields: dict[str, str] = Field(default_factory=dict)


class AgentContext(BaseModel):
    """The agent the email speaks for."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    name: str = Field(max_length=200)
    email: str = Field(max_length=320)
    title: str | None = Field(default=None, max_length=200)
    brokerage: str | None = Field(default=None, max_length=200)
    phone: str | None = Field(default=None, max_length=40)
    tone: str | None = Field(default=None, max_length=200)


class TimelineEntry(BaseModel):
    """One line of the client's recent history, for the composer's context."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    at: AwareDatetime
    kind: str = Field(max_length=60)
    summary: str = Field(max_length=2000)


class DeliveryContext(BaseModel):
    """Everything the mailer (which has no database) needs to send the email."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    to_email: HeaderText
    to_name: HeaderText
    from_name: HeaderText
    reply_to: HeaderText
    signature: str = Field(default="", max_length=5000)
    postal_address: str = Field(default="", max_length=500)
    unsubscribe_url: str = Field(default="", max_length=2000)
    send_mode: SendMode = "automatic"


class TemplateText(BaseModel):
    """The agent's own email template, already filled in with the client's data by the CRM:
    the composer sends it as it is, without an LLM."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    template_id: UUID
    name: str = Field(max_length=100)
    subject: HeaderText
    body: str = Field(min_length=1, max_length=20_000)


class TokenUsage(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    prompt_tokens: int = Field(ge=0)
    completion_tokens: int = Field(ge=0)
    cached_tokens: int = Field(default=0, ge=0)


class _EmailEvent(Event):
    """An event about one email: every such event carries the CRM-assigned email id."""

    email_id: UUID
    task_id: UUID
    agent_id: UUID
    client_id: UUID

    def ce_subject(self) -> str:
        return str(self.email_id)


# --- the loop -----------------------------------------------------------------------------


class SchedulerTick(Event):
    """The leader scheduler's heartbeat for one schedule and slot. Its id is
    ``tick:<schedule>:<slot>``, so ticks from two overlapping leaders are one message."""

    TYPE = "realtoros.scheduler.tick.v1"
    PRODUCER = "scheduler"
    ENTITY = "tick"
    ACTION = "due-tasks"

    schedule: str = Field(pattern=r"^[a-z0-9-]{1,40}$")
    slot: AwareDatetime
    leader: str = Field(max_length=200, description="The replica that published the tick.")

    def ce_subject(self) -> str:
        return self.schedule

    @staticmethod
    def event_id(schedule: str, slot: datetime) -> str:
        return f"tick:{schedule}:{slot.isoformat()}"


class TaskDue(_EmailEvent):
    """A follow-up fell due and the CRM claimed it: compose the email with this context."""

    TYPE = "realtoros.task.due.v1"
    PRODUCER = "crm"
    ENTITY = "task"
    ACTION = "due"

    due_at: AwareDatetime
    purpose: str = Field(max_length=200, description="What this follow-up is for, e.g. 'Day 3'.")
    instructions: str | None = Field(default=None, max_length=5000)
    client: ClientContext
    agent: AgentContext
    timeline: list[TimelineEntry] = Field(default_factory=list, max_length=50)
    delivery: DeliveryContext
    template: TemplateText | None = Field(
        default=None, description="Send this rendered template instead of composing a draft."
    )


class EmailComposed(_EmailEvent):
    """The composer drafted the email. The mailer sends it only when the mode is automatic
    and no review is needed; otherwise it waits in the CRM for the agent."""

    TYPE = "realtoros.email.composed.v1"
    PRODUCER = "composer"
    ENTITY = "email"
    ACTION = "composed"

    subject: HeaderText
    body_text: str = Field(min_length=1, max_length=20_000)
    composer: ComposerKind
    model: str | None = None
    usage: TokenUsage | None = None
    provider_request_id: str | None = None
    needs_review: bool = False
    review_reasons: list[str] = Field(default_factory=list)
    delivery: DeliveryContext


class ComposeFailed(_EmailEvent):
    """The composer gave up on this email; the reason says why."""

    TYPE = "realtoros.email.compose-failed.v1"
    PRODUCER = "composer"
    ENTITY = "email"
    ACTION = "compose-failed"

    reason: str = Field(max_length=2000)
    attempts: int = Field(ge=1)


class EmailApproved(_EmailEvent):
    """The agent approved a draft (possibly edited): send exactly this text."""

    TYPE = "realtoros.email.approved.v1"
    PRODUCER = "crm"
    ENTITY = "email"
    ACTION = "approved"

    subject: HeaderText
    body_text: str = Field(min_length=1, max_length=20_000)
    delivery: DeliveryContext


class EmailSent(_EmailEvent):
    """The transport accepted the email."""

    TYPE = "realtoros.email.sent.v1"
    PRODUCER = "mailer"
    ENTITY = "email"
    ACTION = "sent"

    provider_message_id: str = Field(max_length=300)
    transport: Transport
    sent_at: AwareDatetime


class EmailFailed(_EmailEvent):
    """The email was not sent. ``outcome`` tells the agent what to do about it:
    ``failed`` (the reason says why), ``skipped`` (suppressed or refused by rule), or
    ``unknown`` (a send was attempted but its result was never recorded: check before
    resending)."""

    TYPE = "realtoros.email.failed.v1"
    PRODUCER = "mailer"
    ENTITY = "email"
    ACTION = "failed"

    outcome: Literal["failed", "skipped", "unknown"] = "failed"
    reason: str = Field(max_length=2000)
    failed_at: AwareDatetime


class DraftRequested(TaskDue):
    """The agent asked for a draft now (on demand, or to regenerate one with extra
    instructions). Same context as TaskDue; the draft always waits for the agent's review."""

    TYPE = "realtoros.email.draft-requested.v1"
    PRODUCER = "crm"
    ENTITY = "email"
    ACTION = "draft-requested"

    regenerate: bool = Field(default=False, description="A new draft for an existing email.")


class ClientUnsubscribed(Event):
    """A client asked to receive no more email (unsubscribe link, one-click, or the agent)."""

    TYPE = "realtoros.client.unsubscribed.v1"
    PRODUCER = "crm"
    ENTITY = "client"
    ACTION = "unsubscribed"

    agent_id: UUID
    client_id: UUID
    email: str = Field(max_length=320)
    source: Literal["link", "one-click", "agent", "complaint", "bounce"]
    unsubscribed_at: AwareDatetime

    def ce_subject(self) -> str:
        return str(self.client_id)


class _ProviderEvent(_EmailEvent):
    """Something the email provider reported about a sent email (SES event notifications),
    matched back to the email through the message tags."""

    provider_message_id: str = Field(max_length=300)
    occurred_at: AwareDatetime


class EmailDelivered(_ProviderEvent):
    """The recipient's mail server accepted the email."""

    TYPE = "realtoros.email.delivered.v1"
    PRODUCER = "mailer"
    ENTITY = "email"
    ACTION = "delivered"


class EmailDeliveryDelayed(_ProviderEvent):
    """Delivery is being retried by the provider (a temporary problem)."""

    TYPE = "realtoros.email.delivery-delayed.v1"
    PRODUCER = "mailer"
    ENTITY = "email"
    ACTION = "delivery-delayed"

    delay_type: str = Field(default="", max_length=100)


class EmailBounced(_ProviderEvent):
    """The email bounced. A permanent (hard) bounce suppresses the address."""

    TYPE = "realtoros.email.bounced.v1"
    PRODUCER = "mailer"
    ENTITY = "email"
    ACTION = "bounced"

    bounce_type: Literal["permanent", "transient", "undetermined"]
    bounce_subtype: str = Field(default="", max_length=100)
    recipients: list[str] = Field(default_factory=list)
    diagnostic: str = Field(default="", max_length=2000)


class EmailComplained(_ProviderEvent):
    """The recipient marked the email as spam. Suppresses the address."""

    TYPE = "realtoros.email.complained.v1"
    PRODUCER = "mailer"
    ENTITY = "email"
    ACTION = "complained"

    complaint_type: str = Field(default="", max_length=100)


class EmailRejected(_ProviderEvent):
    """The provider accepted the call but refused to send (e.g. a virus was detected)."""

    TYPE = "realtoros.email.rejected.v1"
    PRODUCER = "mailer"
    ENTITY = "email"
    ACTION = "rejected"

    reason: str = Field(default="", max_length=2000)


class EmailOpened(_ProviderEvent):
    """The recipient opened the email (as far as open tracking can tell)."""

    TYPE = "realtoros.email.opened.v1"
    PRODUCER = "mailer"
    ENTITY = "email"
    ACTION = "opened"

    user_agent: str = Field(default="", max_length=500)


class EmailClicked(_ProviderEvent):
    """The recipient clicked a link in the email."""

    TYPE = "realtoros.email.clicked.v1"
    PRODUCER = "mailer"
    ENTITY = "email"
    ACTION = "clicked"

    link: str = Field(max_length=2000)
    user_agent: str = Field(default="", max_length=500)


ALL_EVENTS: tuple[type[Event], ...] = (
    SchedulerTick,
    TaskDue,
    DraftRequested,
    EmailComposed,
    ComposeFailed,
    EmailApproved,
    EmailSent,
    EmailFailed,
    ClientUnsubscribed,
    EmailDelivered,
    EmailDeliveryDelayed,
    EmailBounced,
    EmailComplained,
    EmailRejected,
    EmailOpened,
    EmailClicked,
)

PROVIDER_EVENTS: tuple[type[Event], ...] = (
    EmailDelivered,
    EmailDeliveryDelayed,
    EmailBounced,
    EmailComplained,
    EmailRejected,
    EmailOpened,
    EmailClicked,
)

EVENTS_BY_TYPE: dict[str, type[Event]] = {cls.TYPE: cls for cls in ALL_EVENTS}
