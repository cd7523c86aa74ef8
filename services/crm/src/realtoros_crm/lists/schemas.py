"""What the API accepts and returns about saved lists."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from realtoros_crm.clients.listing import ClientFilter
from realtoros_crm.clients.models import Stage
from realtoros_crm.clients.schemas import Tags
from realtoros_crm.fields import InputModel, Line, example

ListName = Annotated[Line, Field(min_length=1, max_length=100)]
_EXAMPLE: dict[str, Any] = {
    "name": "Hot buyers in Salem",
    "filter": {"q": "salem", "tag": ["buyer", "hot"], "stage": ["lead", "prospect"]},
}


class ListCreate(InputModel):
    model_config = example(_EXAMPLE)

    name: ListName
    filter: ClientFilter = Field(description="The client list's filters (GET /clients).")


class ListUpdate(InputModel):
    name: ListName | None = None
    filter: ClientFilter | None = None


class ListPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    filter: ClientFilter
    created_at: datetime
    updated_at: datetime


class ListBulkUpdate(InputModel):
    """A stage and/or tags for every client the list holds now."""

    model_config = example({"add_tags": ["open-house"]})

    stage: Stage | None = None
    add_tags: Tags = Field(default_factory=list)
    remove_tags: Tags = Field(default_factory=list)

    @model_validator(mode="after")
    def _something_to_do(self) -> ListBulkUpdate:
        if self.stage is None and not self.add_tags and not self.remove_tags:
            raise ValueError("give a stage, add_tags or remove_tags")
        return self
