"""What the API accepts and returns about agents."""

from __future__ import annotations

import uuid
import zoneinfo
from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from realtoros_crm.agents.models import SendMode
from realtoros_crm.fields import Email, InputModel, Line, Name, Phone


def _iana_zone(value: str) -> str:
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{value!r} is not an IANA time zone such as 'America/New_York'") from None
    return value


TimeZone = Annotated[str, Field(max_length=64), AfterValidator(_iana_zone)]


class AgentCreate(InputModel):
    email: Email
    password: str = Field(min_length=8, max_length=200)
    name: Name
    phone: Phone | None = None
    title: Line | None = None
    brokerage: Line | None = None
    signature: str | None = Field(default=None, max_length=5000)
    tone: Line | None = None
    postal_address: str | None = Field(default=None, max_length=500)
    timezone: TimeZone = "UTC"
    send_mode: SendMode = "automatic"


class AgentPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    email: str
    name: str
    phone: str | None
    title: str | None
    brokerage: str | None
    signature: str | None
    tone: str | None
    postal_address: str | None
    timezone: str
    send_mode: SendMode
    created_at: datetime


class LoginRequest(InputModel):
    email: Email
    password: str = Field(min_length=1, max_length=200)


class TokenPublic(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int = Field(description="Seconds until the token expires.")
