"""Field types and the base model shared by the API's input schemas."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, EmailStr, Field, StringConstraints, field_validator


def _one_line(value: str) -> str:
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        raise ValueError("must be one line without control characters")
    return value


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(item) for item in value)
    return False


class InputModel(BaseModel):
    """Base of request bodies: PostgreSQL text cannot hold NUL, so no field may carry one."""

    @field_validator("*", mode="before")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        if _has_nul(value):
            raise ValueError("must not contain NUL characters")
        return value


def _has_time_zone(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(
            "must include a time zone, e.g. 2025-05-01T09:00:00Z or 2025-05-01T09:00:00-04:00"
        )
    try:
        in_utc = value.astimezone(UTC)
    except OverflowError:
        in_utc = None
    if in_utc is None or not 1970 <= in_utc.year <= 9999:
        raise ValueError("must be between 1970 and 9999")
    return value


ZonedDatetime = Annotated[datetime, AfterValidator(_has_time_zone)]
"""A point in time with its offset: naive times are ambiguous, so refused."""
Name = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=200),
    AfterValidator(_one_line),
]
"""A person's name: it ends up in email headers, so one line."""
Line = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=200), AfterValidator(_one_line)
]
Phone = Annotated[str, StringConstraints(strip_whitespace=True, max_length=40)]
Email = Annotated[EmailStr, Field(max_length=254)]
