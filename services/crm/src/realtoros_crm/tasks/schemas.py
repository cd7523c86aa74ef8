"""What the API accepts and returns about follow-up tasks."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from realtoros_crm.emails.schemas import EmailPublic
from realtoros_crm.fields import InputModel, Line, ZonedDatetime
from realtoros_crm.tasks.models import TaskStatus


class TaskCreate(InputModel):
    client_id: uuid.UUID
    due_at: ZonedDatetime = Field(description="When to send; must carry a time zone.")
    purpose: Annotated[Line, Field(min_length=1)] = "Custom"
    instructions: str | None = Field(default=None, max_length=5000)


class TaskPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    client_id: uuid.UUID
    purpose: str
    instructions: str | None
    due_at: datetime
    status: TaskStatus
    failure_reason: str | None
    email: EmailPublic | None
    created_at: datetime
    updated_at: datetime
