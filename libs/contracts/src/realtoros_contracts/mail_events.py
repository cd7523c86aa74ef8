"""The events about mail that came back: what the email provider reported about a sent
email, the clients' replies (published by the mailer), and the CRM's record of a reply."""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from realtoros_contracts.base import Event, _ClientEvent, _EmailEvent


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


class ClientReplyRecorded(_ClientEvent):
    """The CRM recorded a client's reply (ClientReplied, matched to one of the agent's
    clients): what the ``client.replied`` webhook is made from. Carries the ids the mailer's
    event lacks; the subject and the new text are untrusted and size-limited."""

    TYPE = "realtoros.client.reply-recorded.v1"
    PRODUCER = "crm"
    ENTITY = "client"
    ACTION = "reply-recorded"

    reply_id: UUID
    email_id: UUID | None = None
    received_at: AwareDatetime
    subject: str = Field(default="", max_length=300)
    text: str = Field(default="", max_length=2000, description="The new text, cut to 2000.")
    unsubscribe_requested: bool = False
