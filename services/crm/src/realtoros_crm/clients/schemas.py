"""What the API accepts and returns about clients."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    TypeAdapter,
    model_validator,
)
from typing_extensions import TypedDict

from realtoros_crm.agents.schemas import TimeZone
from realtoros_crm.clients.models import PropertyType, Stage
from realtoros_crm.fields import Email, InputModel, Name, Phone, example, not_blank


def _one_line(value: str) -> str:
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        raise ValueError("must be one line without control characters")
    return value


def _unique(values: list[str]) -> list[str]:
    return list(dict.fromkeys(values))


FieldName = Annotated[str, StringConstraints(min_length=1, max_length=60)]
FieldValue = Annotated[str, StringConstraints(max_length=1000)] | int | float | bool
Tag = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=50),
    AfterValidator(_one_line),
    AfterValidator(not_blank),
]
Tags = Annotated[list[Tag], Field(max_length=50), AfterValidator(_unique)]
Source = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=100), AfterValidator(_one_line)
]
Address = Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)]
Notes = Annotated[str, StringConstraints(max_length=10_000)]
CustomFields = Annotated[dict[FieldName, FieldValue], Field(max_length=50)]

_CLIENT_EXAMPLE: dict[str, Any] = {
    "name": "Jordan Lee",
    "email": "jordan@example.com",
    "phone": "+1 555 0142",
    "stage": "lead",
    "property_address": "12 Elm St, Salem, MA",
    "property_type": "residential",
    "source": "Zillow",
    "tags": ["buyer", "first-home"],
    "notes": "Pre-approved; wants a yard.",
    "custom_fields": {"budget": 450000},
    "timezone": "America/New_York",
}


class ClientCreate(InputModel):
    model_config = example(_CLIENT_EXAMPLE)

    name: Name
    email: Email | None = Field(default=None, description="An email address, a phone, or both.")
    stage: Stage = "lead"
    phone: Phone | None = None
    property_address: Address | None = None
    property_type: PropertyType | None = None
    source: Source | None = None
    tags: Tags = Field(default_factory=list)
    notes: Notes | None = None
    custom_fields: CustomFields = Field(default_factory=dict)
    timezone: TimeZone | None = Field(default=None, description="IANA; null: the agent's.")

    @model_validator(mode="after")
    def _reachable(self) -> ClientCreate:
        if not self.email and not self.phone:
            raise ValueError(REACHABLE)
        return self


REACHABLE = "a client needs an email address or a phone number"
_NOT_NULL = ("name", "stage", "tags", "custom_fields", "unsubscribed")


class ClientUpdate(InputModel):
    """Only the fields sent change; ``null`` clears an optional one."""

    model_config = example({"stage": "prospect", "tags": ["buyer", "pre-approved"]})

    name: Name | None = None
    email: Email | None = None
    stage: Stage | None = None
    phone: Phone | None = None
    property_address: Address | None = None
    property_type: PropertyType | None = None
    source: Source | None = None
    tags: Tags | None = None
    notes: Notes | None = None
    custom_fields: CustomFields | None = None
    timezone: TimeZone | None = None
    unsubscribed: bool | None = Field(
        default=None, description="true stops follow-ups (recorded as the agent's doing)."
    )

    @model_validator(mode="after")
    def _required_stay_set(self) -> ClientUpdate:
        for name in _NOT_NULL:
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null")
        return self


class ClientPublic(BaseModel):
    model_config = example(
        {
            "id": "0d7f2c1e-3b4a-4c5d-8e9f-0a1b2c3d4e5f",
            **_CLIENT_EXAMPLE,
            "unsubscribed": False,
            "last_contacted_at": None,
            "created_at": "2026-05-01T09:00:00Z",
            "updated_at": "2026-05-01T09:00:00Z",
            "deleted_at": None,
        },
        from_attributes=True,
    )

    id: uuid.UUID
    name: str
    email: str | None
    stage: Stage
    phone: str | None
    property_address: str | None
    property_type: str | None
    source: str | None
    tags: list[str]
    notes: str | None
    custom_fields: dict[str, str | int | float | bool]
    timezone: str | None
    unsubscribed: bool
    last_contacted_at: datetime | None
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None


# A page of the list as ClientPublic's JSON, from rows of its columns: a TypedDict of the
# same fields and types serialises dicts as they are (the model would validate each row
# first, and FastAPI's response_model then again).
ClientPublicRow = TypedDict(  # type: ignore[misc]
    "ClientPublicRow", {name: f.annotation for name, f in ClientPublic.model_fields.items()}
)
PAGE_JSON: TypeAdapter[list[Any]] = TypeAdapter(list[ClientPublicRow])


class DuplicateMatch(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    email: str | None
    matched_on: Literal["email", "phone"]


class ClientDetail(ClientPublic):
    duplicates: list[DuplicateMatch] = Field(
        default_factory=list,
        description="Other clients of the agent with the same email (trimmed, any case) or "
        "phone (digits): a warning, nothing is merged.",
    )


Ids = Annotated[list[uuid.UUID], Field(min_length=1, max_length=1000)]


class BulkUpdate(InputModel):
    model_config = example(
        {
            "ids": ["0d7f2c1e-3b4a-4c5d-8e9f-0a1b2c3d4e5f"],
            "stage": "negotiating",
            "add_tags": ["hot"],
            "remove_tags": ["cold"],
        }
    )

    ids: Ids
    stage: Stage | None = None
    add_tags: Tags = Field(default_factory=list)
    remove_tags: Tags = Field(default_factory=list)

    @model_validator(mode="after")
    def _something_to_do(self) -> BulkUpdate:
        if self.stage is None and not self.add_tags and not self.remove_tags:
            raise ValueError("give a stage, add_tags or remove_tags")
        return self


class BulkDelete(InputModel):
    model_config = example({"ids": ["0d7f2c1e-3b4a-4c5d-8e9f-0a1b2c3d4e5f"]})

    ids: Ids


class BulkResult(BaseModel):
    model_config = example({"changed": 2, "not_found": []})

    changed: int
    not_found: list[uuid.UUID] = Field(description="Ids that are not the agent's clients.")
