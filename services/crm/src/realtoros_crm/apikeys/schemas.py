"""The API keys' request and response bodies."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from realtoros_crm.apikeys.scopes import Scope
from realtoros_crm.fields import InputModel, example


def _unique(values: list[Scope]) -> list[Scope]:
    return list(dict.fromkeys(values))


class ApiKeyCreate(InputModel):
    model_config = example({"name": "Website form", "scopes": ["leads:write"]})

    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
    scopes: Annotated[list[Scope], Field(min_length=1), AfterValidator(_unique)]
    lead_plan_id: uuid.UUID | None = Field(
        default=None, description="Leads posted with this key are put on this plan."
    )


class ApiKeyPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    prefix: str = Field(description="The key's first characters, to tell keys apart.")
    scopes: list[str]
    lead_plan_id: uuid.UUID | None
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class ApiKeyCreated(ApiKeyPublic):
    key: str = Field(description="The key itself: shown this once, never again.")
