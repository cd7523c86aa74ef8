"""What the API accepts and returns about agents and their sessions."""

from __future__ import annotations

import uuid
import zoneinfo
from datetime import datetime, time
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, Field, model_validator

from realtoros_crm.agents.models import MAX_SPREAD_MINUTES, SendMode
from realtoros_crm.fields import Email, InputModel, Line, Name, Phone, example
from realtoros_crm.zones import resolve_zone


def _iana_zone(value: str) -> str:
    """A zone as the agent names it ("Eastern", "Pacific Time", "Chicago") → its IANA name."""
    name = resolve_zone(value) or value
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        raise ValueError(
            f"{value!r} is not a time zone we know: choose one from the list, e.g. Eastern "
            "Time (New York)"
        ) from None
    return name


def _days(value: list[int]) -> list[int]:
    return sorted(set(value))


TimeZone = Annotated[str, Field(max_length=64), AfterValidator(_iana_zone)]
Weekday = Annotated[int, Field(ge=1, le=7)]
SendingDays = Annotated[
    list[Weekday],
    Field(min_length=1, max_length=7, description="ISO weekdays: 1 = Monday … 7 = Sunday."),
    AfterValidator(_days),
]
Password = Annotated[str, Field(min_length=8, max_length=200)]

_PROFILE_EXAMPLE: dict[str, Any] = {
    "name": "Dana Ruiz",
    "phone": "+1 555 0100",
    "title": "Realtor®",
    "brokerage": "Harbor Realty",
    "bio": "Helping families find homes on the North Shore since 2012.",
    "signature": "Dana Ruiz\nHarbor Realty · +1 555 0100",
    "postal_address": "1 Harbor Way, Salem, MA 01970",
    "timezone": "America/New_York",
    "tone": "warm and concise",
    "sending_days": [1, 2, 3, 4, 5, 6],
    "sending_start": "09:00:00",
    "sending_end": "18:00:00",
    "send_mode": "approval",
}


class AgentCreate(InputModel):
    model_config = example(
        {
            "email": "dana@harbor.example",
            "password": "correct horse battery",
            "name": "Dana Ruiz",
            "brokerage": "Harbor Realty",
        }
    )

    email: Email
    password: Password
    name: Name
    phone: Phone | None = None
    title: Line | None = None
    brokerage: Line | None = None
    bio: str | None = Field(default=None, max_length=5000)
    signature: str | None = Field(default=None, max_length=5000)
    tone: Line | None = None
    postal_address: str | None = Field(default=None, max_length=500)
    timezone: TimeZone = "UTC"
    send_mode: SendMode = "automatic"


class ProfileUpdate(InputModel):
    """Only the fields sent change; ``null`` clears an optional one."""

    model_config = example(_PROFILE_EXAMPLE)

    name: Name | None = None
    email: Email | None = None
    phone: Phone | None = None
    title: Line | None = None
    brokerage: Line | None = None
    bio: str | None = Field(default=None, max_length=5000)
    signature: str | None = Field(default=None, max_length=5000)
    tone: Line | None = None
    postal_address: str | None = Field(default=None, max_length=500)
    timezone: TimeZone | None = None
    send_mode: SendMode | None = None
    sending_days: SendingDays | None = None
    sending_start: time | None = Field(default=None, description="Local time, e.g. 09:00.")
    sending_end: time | None = Field(default=None, description="Local time, e.g. 18:00.")
    send_spread_minutes: int | None = Field(
        default=None,
        ge=0,
        le=MAX_SPREAD_MINUTES,
        description="Spread emails that fall due at the same time over this many minutes "
        "after it, each client at its own fixed offset (never outside the sending window); "
        "0 sends at the step's time. The tasks show the real time.",
    )
    replies_to_me: bool | None = Field(
        default=None,
        description="true: clients' replies go straight to your address and are no longer "
        "detected (plans do not pause on a reply).",
    )

    @model_validator(mode="after")
    def _required_stay_set(self) -> ProfileUpdate:
        for name in (
            "name", "email", "timezone", "send_mode", "sending_days", "replies_to_me",
            "send_spread_minutes",
        ):  # fmt: skip
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null")
        for name in ("sending_start", "sending_end"):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null")
            value = getattr(self, name)
            if value is not None and value.tzinfo is not None:
                raise ValueError(f"{name} is a local time: give it without an offset")
        return self


class AgentPublic(BaseModel):
    model_config = example(
        {
            "id": "5b0c9d1e-7f0a-4a5e-9b8f-1d2c3e4f5a6b",
            "email": "dana@harbor.example",
            **_PROFILE_EXAMPLE,
            "send_spread_minutes": 30,
            "google_linked": False,
            "created_at": "2026-05-01T09:00:00Z",
        },
        from_attributes=True,
    )

    id: uuid.UUID
    email: str
    name: str
    phone: str | None
    title: str | None
    brokerage: str | None
    bio: str | None
    signature: str | None
    tone: str | None
    postal_address: str | None
    timezone: str
    send_mode: SendMode
    sending_days: list[int]
    sending_start: time
    sending_end: time
    send_spread_minutes: int = 0
    replies_to_me: bool = False
    google_linked: bool = False
    created_at: datetime

    @classmethod
    def of(cls, agent: Any) -> AgentPublic:
        public = cls.model_validate(agent)
        public.google_linked = agent.google_sub is not None
        return public


class LoginRequest(InputModel):
    model_config = example({"email": "dana@harbor.example", "password": "correct horse battery"})

    email: Email
    password: str = Field(min_length=1, max_length=200)


class GoogleSignIn(InputModel):
    model_config = example({"id_token": "eyJhbGciOiJSUzI1NiIs…"})

    id_token: str = Field(min_length=1, max_length=10_000, description="Google's ID token (JWT).")


class RefreshRequest(InputModel):
    model_config = example({"refresh_token": "q1w2e3…"})

    refresh_token: str = Field(min_length=1, max_length=200)


class TokenPublic(BaseModel):
    model_config = example(
        {
            "access_token": "eyJhbGciOiJIUzI1NiIs…",
            "token_type": "bearer",
            "expires_in": 900,
            "refresh_token": "q1w2e3…",
            "refresh_expires_in": 2592000,
        }
    )

    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int = Field(description="Seconds until the access token expires.")
    refresh_token: str = Field(description="Single use: POST /auth/refresh returns the next.")
    refresh_expires_in: int = Field(description="Seconds until the refresh token expires.")


class Message(BaseModel):
    detail: str
