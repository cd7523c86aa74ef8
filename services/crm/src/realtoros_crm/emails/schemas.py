"""What the API returns about emails."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from realtoros_crm.emails.models import EmailStatus
from realtoros_crm.fields import InputModel


class EmailPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    task_id: uuid.UUID
    client_id: uuid.UUID
    status: EmailStatus
    to_email: str
    subject: str | None
    body_text: str | None
    composer: str | None
    model: str | None
    needs_review: bool
    review_reasons: list[str]
    provider_message_id: str | None
    transport: str | None
    sent_at: datetime | None
    failure_reason: str | None
    edited_at: datetime | None
    approved_at: datetime | None
    delivered_at: datetime | None
    delivery_delayed_at: datetime | None
    first_opened_at: datetime | None
    open_count: int
    first_clicked_at: datetime | None
    click_count: int
    bounced_at: datetime | None
    bounce_type: str | None
    complained_at: datetime | None
    rejected_at: datetime | None
    replied_at: datetime | None = None
    held_at: datetime | None = None


def _header_safe(value: str) -> str:
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        raise ValueError("must be one line without control characters")
    if not value.strip():
        raise ValueError("must not be blank")
    return value


Subject = Annotated[str, Field(min_length=1, max_length=300), AfterValidator(_header_safe)]


class DraftEdit(InputModel):
    """The agent's edit of a draft: kept exactly as sent (line breaks, blank lines)."""

    subject: Subject | None = None
    body_text: str | None = Field(default=None, min_length=1, max_length=20_000)


class DraftInstructions(InputModel):
    instructions: str = Field(default="", max_length=5000)


LlmUse = Literal["in_use", "not_set_up", "unknown"]


class DraftAccepted(BaseModel):
    """A draft is being composed: poll ``GET /emails/{email_id}`` for it."""

    email_id: uuid.UUID
    task_id: uuid.UUID
    status: EmailStatus
    llm: LlmUse = Field(
        description="Whether an LLM writes this draft, as the agent's last draft showed "
        "(unknown before the first): without one it is the standard template, held for "
        "review, and instructions are not applied."
    )
    warning: str | None = Field(
        description="What to expect when no LLM writes the draft (null when one does)."
    )
