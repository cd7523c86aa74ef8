"""What every event is built from: the ``Event`` base, the checked text types and the
contexts events carry (the events themselves: ``realtoros_contracts.events``)."""

from __future__ import annotations

import re
from typing import Annotated, ClassVar, Literal, TypedDict
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


class EmailIds(TypedDict):
    """The ids that name one email, carried from event to event about it."""

    email_id: UUID
    task_id: UUID
    agent_id: UUID
    client_id: UUID


class _ClientEvent(Event):
    """An event about one of an agent's clients, named by the client's id."""

    agent_id: UUID
    client_id: UUID

    def ce_subject(self) -> str:
        return str(self.client_id)


class _EmailEvent(Event):
    """An event about one email: every such event carries the CRM-assigned email id."""

    email_id: UUID
    task_id: UUID
    agent_id: UUID
    client_id: UUID

    def ce_subject(self) -> str:
        return str(self.email_id)

    def email_ids(self) -> EmailIds:
        """This email's ids, for the next event about it (``EmailSent(**event.email_ids(),
        ...)``)."""
        return EmailIds(
            email_id=self.email_id,
            task_id=self.task_id,
            agent_id=self.agent_id,
            client_id=self.client_id,
        )


# --- the loop -----------------------------------------------------------------------------
