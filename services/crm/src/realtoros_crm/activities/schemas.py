"""What the API returns about the client timeline."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict


class ActivityPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    kind: str
    summary: str
    email_id: uuid.UUID | None
    task_id: uuid.UUID | None
    occurred_at: datetime
