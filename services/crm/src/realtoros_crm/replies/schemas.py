from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict

from realtoros_contracts import MatchedBy, SenderVerdicts


class ReplyPublic(BaseModel):
    """A client's reply (or automatic answer) as received. Every text field is the
    client's own: untrusted."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    client_id: uuid.UUID
    email_id: uuid.UUID | None
    kind: Literal["reply", "auto-reply"]
    matched_by: MatchedBy
    from_email: str
    subject: str
    text: str
    attachments: list[str]
    verdicts: SenderVerdicts
    unsubscribe_requested: bool
    received_at: datetime
    answered_at: datetime | None
