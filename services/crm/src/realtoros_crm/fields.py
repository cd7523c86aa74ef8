"""Field types and the base model shared by the API's input schemas."""

from __future__ import annotations

import unicodedata
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    EmailStr,
    Field,
    StringConstraints,
    field_validator,
)


def example(sample: dict[str, Any], *, from_attributes: bool = False) -> ConfigDict:
    """A schema's config with ``sample`` as its OpenAPI example (``from_attributes``: an
    answer validated from ORM rows)."""
    if from_attributes:
        return ConfigDict(from_attributes=True, json_schema_extra={"examples": [sample]})
    return ConfigDict(json_schema_extra={"examples": [sample]})


def _one_line(value: str) -> str:
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        raise ValueError("must be one line without control characters")
    return value


def _unrepresentable(value: Any) -> bool:
    """A NUL (PostgreSQL text cannot hold one) or a lone surrogate (JSON's "\\ud800": not
    UTF-8), anywhere in the value."""
    if isinstance(value, str):
        return "\x00" in value or any(0xD800 <= ord(ch) <= 0xDFFF for ch in value)
    if isinstance(value, dict):
        return any(_unrepresentable(k) or _unrepresentable(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_unrepresentable(item) for item in value)
    return False


class InputModel(BaseModel):
    """Base of request bodies and query filters: no field may carry text PostgreSQL cannot
    store, and no number may be NaN or infinite (JSON has neither; ``1e400`` overflows)."""

    model_config = ConfigDict(allow_inf_nan=False)

    @field_validator("*", mode="before")
    @classmethod
    def _representable(cls, value: Any) -> Any:
        if _unrepresentable(value):
            raise ValueError("must not contain NUL characters or unpaired surrogates")
        return value


def not_blank(value: str) -> str:
    """Zero-width spaces, joiners and other invisible characters alone are no name."""
    if not any(
        not ch.isspace() and unicodedata.category(ch) not in ("Cf", "Cc", "Zs", "Mn")
        for ch in value
    ):
        raise ValueError("must not be blank")
    return value


def _iso_datetime(value: Any) -> Any:
    """Only an ISO 8601 string (or a datetime from Python code): a number would be read as
    seconds since 1970, which no caller means."""
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str):
        raise ValueError("must be an ISO 8601 date-time string with a time zone")
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(
            "must be an ISO 8601 date-time with a time zone, e.g. 2025-05-01T09:00:00Z"
        ) from None


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


ZonedDatetime = Annotated[datetime, BeforeValidator(_iso_datetime), AfterValidator(_has_time_zone)]
"""A point in time with its offset: naive times are ambiguous, so refused."""
Name = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=200),
    AfterValidator(_one_line),
    AfterValidator(not_blank),
]
"""A person's name: it ends up in email headers, so one line; visible."""
Line = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=200), AfterValidator(_one_line)
]
Phone = Annotated[str, StringConstraints(strip_whitespace=True, max_length=40)]
Email = Annotated[EmailStr, Field(max_length=254)]
