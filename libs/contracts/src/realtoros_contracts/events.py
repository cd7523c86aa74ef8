"""The events of the follow-up loop.

One pydantic model per event, versioned in its type name (``realtoros.task.due.v1``).
Adding an optional field is compatible; anything else is a new version published
beside the old one. Consumers ignore fields they do not know, so producers can add
optional fields without breaking anyone.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import AwareDatetime, Field

# The base types, the client events and the mail events are this module's too
# (``events.X`` for every event).
from realtoros_contracts.base import AgentContext as AgentContext
from realtoros_contracts.base import ClientContext as ClientContext
from realtoros_contracts.base import ComposerKind as ComposerKind
from realtoros_contracts.base import DeliveryContext as DeliveryContext
from realtoros_contracts.base import Event as Event
from realtoros_contracts.base import HeaderText as HeaderText
from realtoros_contracts.base import SendMode as SendMode
from realtoros_contracts.base import ShortText as ShortText
from realtoros_contracts.base import TemplateText as TemplateText
from realtoros_contracts.base import TimelineEntry as TimelineEntry
from realtoros_contracts.base import TokenUsage as TokenUsage
from realtoros_contracts.base import Transport as Transport
from realtoros_contracts.base import _EmailEvent
from realtoros_contracts.client_events import ClientCreated as ClientCreated
from realtoros_contracts.client_events import ClientUnsubscribed as ClientUnsubscribed
from realtoros_contracts.client_events import ClientUpdated as ClientUpdated
from realtoros_contracts.client_events import TaskCompleted as TaskCompleted
from realtoros_contracts.client_events import UnsubscribeSource as UnsubscribeSource
from realtoros_contracts.mail_events import AutoReplyReceived as AutoReplyReceived
from realtoros_contracts.mail_events import ClientReplied as ClientReplied
from realtoros_contracts.mail_events import ClientReplyRecorded as ClientReplyRecorded
from realtoros_contracts.mail_events import EmailBounced as EmailBounced
from realtoros_contracts.mail_events import EmailClicked as EmailClicked
from realtoros_contracts.mail_events import EmailComplained as EmailComplained
from realtoros_contracts.mail_events import EmailDelivered as EmailDelivered
from realtoros_contracts.mail_events import EmailDeliveryDelayed as EmailDeliveryDelayed
from realtoros_contracts.mail_events import EmailOpened as EmailOpened
from realtoros_contracts.mail_events import EmailRejected as EmailRejected
from realtoros_contracts.mail_events import MatchedBy as MatchedBy
from realtoros_contracts.mail_events import SenderVerdicts as SenderVerdicts


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
