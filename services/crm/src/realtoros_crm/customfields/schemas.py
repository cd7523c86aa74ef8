"""What the API accepts and returns about the agent's custom fields."""

from __future__ import annotations

import uuid
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from realtoros_crm.customfields.models import FieldType
from realtoros_crm.fields import InputModel, Line

FieldKey = Annotated[
    str, StringConstraints(strip_whitespace=True, pattern=r"^[a-z][a-z0-9_]{0,59}$")
]
Choice = Annotated[Line, Field(min_length=1, max_length=100)]


class CustomFieldCreate(InputModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"key": "birthday", "label": "Birthday", "field_type": "date"},
                {"key": "timeline", "label": "Timeline", "field_type": "choice",
                 "choices": ["0-3 months", "3-6 months", "6+ months"]},
            ]
        }
    )  # fmt: skip

    key: FieldKey = Field(description="Lower case, digits and _: the name in templates.")
    label: Annotated[Line, Field(min_length=1, max_length=100)]
    field_type: FieldType
    choices: list[Choice] = Field(default_factory=list, max_length=50)

    @model_validator(mode="after")
    def _choices_for_a_choice(self) -> CustomFieldCreate:
        if self.field_type == "choice" and not self.choices:
            raise ValueError("a choice field needs its choices")
        if self.field_type != "choice" and self.choices:
            raise ValueError("only a choice field has choices")
        self.choices = list(dict.fromkeys(self.choices))
        return self


class CustomFieldUpdate(InputModel):
    label: Annotated[Line, Field(min_length=1, max_length=100)] | None = None
    choices: list[Choice] | None = Field(default=None, max_length=50)


class CustomFieldPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    key: str
    label: str
    field_type: FieldType
    choices: list[str]
