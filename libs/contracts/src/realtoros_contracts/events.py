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
    detect_replies: bool = Field(
        default=False,
        description="Give the email a reply address of its own, so that the client's reply "
        "reaches RealtorOS (and is forwarded to reply_to); false: replies go to reply_to.",
    )


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
    latest_reply: str | None = Field(
        default=None,
        max_length=5000,
        description="The new text of the client's latest reply (untrusted, as it came).",
    )
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
    override_hold: bool = Field(
        default=False,
        description="The agent confirmed sending a draft held because the client replied "
        "(the mailer sends a held email only with this set).",
    )


class EmailHeld(_EmailEvent):
    """The client replied while this email was being composed, waiting for approval or
    queued to send: the mailer must not send it unless the agent approves it again with
    ``override_hold`` (an email already handed to the provider cannot be recalled)."""

    TYPE = "realtoros.email.held.v1"
    PRODUCER = "crm"
    ENTITY = "email"
    ACTION = "held"

    held_at: AwareDatetime
    reason: str = Field(default="client replied", max_length=200)


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


UnsubscribeSource = Literal["link", "one-click", "agent", "complaint", "bounce", "reply"]
"""What asked for an unsubscription."""


class ClientUnsubscribed(Event):
    """A client asked to receive no more email (unsubscribe link, one-click, or the agent)."""

    TYPE = "realtoros.client.unsubscribed.v1"
    PRODUCER = "crm"
    ENTITY = "client"
    ACTION = "unsubscribed"

    agent_id: UUID
    client_id: UUID
    email: str = Field(max_length=320)
    source: UnsubscribeSource
    unsubscribed_at: AwareDatetime

    def ce_subject(self) -> str:
        return str(self.client_id)


class ClientCreated(Event):
    """A client was added: by the agent, an import, or a lead source. Carries no contact
    details (a subscriber that may see them reads them from the CRM)."""

    TYPE = "realtoros.client.created.v1"
    PRODUCER = "crm"
    ENTITY = "client"
    ACTION = "created"

    agent_id: UUID
    client_id: UUID
    stage: str = Field(max_length=40)
    source: str | None = Field(default=None, max_length=100)
    created_at: AwareDatetime

    def ce_subject(self) -> str:
        return str(self.client_id)


class ClientUpdated(Event):
    """Some of a client's fields changed (named in ``changed``, never their values)."""

    TYPE = "realtoros.client.updated.v1"
    PRODUCER = "crm"
    ENTITY = "client"
    ACTION = "updated"

    agent_id: UUID
    client_id: UUID
    changed: list[Annotated[str, Field(max_length=60)]] = Field(max_length=40)
    stage: str = Field(max_length=40, description="The client's stage after the change.")
    updated_at: AwareDatetime

    def ce_subject(self) -> str:
        return str(self.client_id)


class TaskCompleted(Event):
    """The agent marked a task done (a call made, a meeting held, an email handled)."""

    TYPE = "realtoros.task.completed.v1"
    PRODUCER = "crm"
    ENTITY = "task"
    ACTION = "completed"

    agent_id: UUID
    task_id: UUID
    client_id: UUID
    task_type: str = Field(max_length=20)
    purpose: str = Field(max_length=200)
    completed_at: AwareDatetime

    def ce_subject(self) -> str:
        return str(self.task_id)


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


# --- inbound email ------------------------------------------------------------------------

MatchedBy = Literal["reply-address", "in-reply-to", "sender"]


class SenderVerdicts(BaseModel):
    """What the receiving provider (SES) concluded about the sender: PASS, FAIL, GRAY,
    PROCESSING_FAILED, or empty when unknown (the local SMTP inbound checks nothing)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    spf: str = Field(default="", max_length=40)
    dkim: str = Field(default="", max_length=40)
    dmarc: str = Field(default="", max_length=40)
    spam: str = Field(default="", max_length=40)
    virus: str = Field(default="", max_length=40)


class _InboundEmail(Event):
    """An email a client sent back, as the mailer received and parsed it. Every text field
    came from outside: untrusted, size-limited, control characters removed from headers.

    ``email_id`` is the email it answers when the reply address (signed token) or the
    In-Reply-To/References header identified it; when only the sender's address is known
    (``matched_by="sender"``) it is None and the CRM matches the sender against the clients
    it recently emailed."""

    PRODUCER = "mailer"
    ENTITY = "client"

    email_id: UUID | None = None
    matched_by: MatchedBy
    from_email: str = Field(max_length=320)
    from_name: str = Field(default="", max_length=200)
    subject: str = Field(default="", max_length=300)
    text: str = Field(default="", max_length=10_000, description="The new text, quotes stripped.")
    received_at: AwareDatetime
    message_id: str = Field(default="", max_length=300)
    attachments: list[Annotated[str, Field(max_length=200)]] = Field(
        default_factory=list, max_length=50, description="Attachment names (never stored)."
    )
    verdicts: SenderVerdicts = Field(default_factory=SenderVerdicts)

    def ce_subject(self) -> str:
        return str(self.email_id) if self.email_id else self.from_email


class ClientReplied(_InboundEmail):
    """A person answered one of our emails: the CRM pauses the client's plans and shows the
    reply; the mailer forwards it to the agent."""

    TYPE = "realtoros.client.replied.v1"
    ACTION = "replied"

    unsubscribe_requested: bool = Field(
        default=False, description="The first lines ask to stop (stop, unsubscribe, remove me)."
    )
    history: str = Field(
        default="",
        max_length=20_000,
        description="The quoted history below the new text (for the agent's forwarded copy; "
        "the CRM does not keep it).",
    )


class AutoReplyReceived(_InboundEmail):
    """An automatic answer (out of office, RFC 3834 Auto-Submitted…): recorded, pauses nothing."""

    TYPE = "realtoros.client.auto-replied.v1"
    ACTION = "auto-replied"

    reason: str = Field(default="", max_length=200, description="Why it counts as automatic.")


class ClientReplyRecorded(Event):
    """The CRM recorded a client's reply (ClientReplied, matched to one of the agent's
    clients): what the ``client.replied`` webhook is made from. Carries the ids the mailer's
    event lacks; the subject and the new text are untrusted and size-limited."""

    TYPE = "realtoros.client.reply-recorded.v1"
    PRODUCER = "crm"
    ENTITY = "client"
    ACTION = "reply-recorded"

    agent_id: UUID
    client_id: UUID
    reply_id: UUID
    email_id: UUID | None = None
    received_at: AwareDatetime
    subject: str = Field(default="", max_length=300)
    text: str = Field(default="", max_length=2000, description="The new text, cut to 2000.")
    unsubscribe_requested: bool = False

    def ce_subject(self) -> str:
        return str(self.client_id)


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
    ClientCreated,
    ClientUpdated,
    TaskCompleted,
    EmailDelivered,
    EmailDeliveryDelayed,
    EmailBounced,
    EmailComplained,
    EmailRejected,
    EmailOpened,
    EmailClicked,
    ClientReplied,
    AutoReplyReceived,
    EmailHeld,
    ClientReplyRecorded,
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
