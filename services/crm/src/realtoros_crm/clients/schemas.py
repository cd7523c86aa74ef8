"""What the API accepts and returns about clients."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from realtoros_crm.clients.models import Stage
from realtoros_crm.fields import Email, InputModel, Name, Phone

FieldName = Annotated[str, StringConstraints(min_length=1, max_length=60)]
FieldValue = Annotated[str, StringConstraints(max_length=1000)] | int | float | bool


class ClientCreate(InputModel):
    name: Name
    email: Email
    stage: Stage = "lead"
    phone: Phone | None = None
    property_address: str | None = Field(default=None, max_length=500)
    property_type: Annotated[str, StringConstraints(max_length=40)] | None = None
    notes: str | None = Field(default=None, max_length=10_000)
    custom_fields: dict[FieldName, FieldValue] = Field(default_factory=dict, max_length=50)


class ClientPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    email: str
    stage: Stage
    phone: str | None
    property_address: str | None
    property_type: str | None
    notes: str | None
    custom_fields: dict[str, str | int | float | bool]
    unsubscribed: bool
    last_contacted_at: datetime | None
    created_at: datetime
    updated_at: datetime
