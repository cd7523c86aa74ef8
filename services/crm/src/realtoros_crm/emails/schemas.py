"""What the API accepts and returns about drafts (an email itself: ``EmailPublic``, with
the task it belongs to in tasks/schemas.py)."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, Field

from realtoros_crm.emails.models import EmailStatus
from realtoros_crm.fields import InputModel


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
