"""What the API returns about emails."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict

from realtoros_crm.emails.models import EmailStatus


class EmailPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
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
