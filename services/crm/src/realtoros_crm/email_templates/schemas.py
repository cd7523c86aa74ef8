"""What the API accepts and returns about email templates."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from realtoros_crm.fields import InputModel, Line, example

TemplateName = Annotated[Line, Field(min_length=1, max_length=100)]
Subject = Annotated[Line, Field(min_length=1, max_length=200)]
Body = Annotated[str, Field(min_length=1, max_length=10_000)]
_EXAMPLE: dict[str, Any] = {
    "name": "Open house invite",
    "subject": "Open house at {{property_address}} this Saturday",
    "body": "Hi {{first_name}},\n\nI'm hosting an open house at {{property_address}} on "
    "Saturday from 1 to 3. Call me at {{agent_phone}} if you'd like a private tour.\n\n"
    "{{agent_name}}",
}


class TemplateCreate(InputModel):
    model_config = example(_EXAMPLE)

    name: TemplateName
    subject: Subject
    body: Body


class TemplateUpdate(InputModel):
    name: TemplateName | None = None
    subject: Subject | None = None
    body: Body | None = None


class TemplatePublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    subject: str
    body: str
    created_at: datetime
    updated_at: datetime


class MergeField(BaseModel):
    name: str
    description: str


class TemplatePreview(BaseModel):
    """The template as this client would get it. ``missing`` names the fields this client
    (or the agent) has no value for: such an email is not sent (the step fails with that
    reason), and the preview leaves them as ``{{name}}``."""

    subject: str
    body: str
    missing: list[str]
    ready: bool = Field(description="True when nothing is missing.")
