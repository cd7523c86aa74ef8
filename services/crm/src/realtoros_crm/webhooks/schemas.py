"""The webhook endpoints' and deliveries' request and response bodies."""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from realtoros_crm.fields import InputModel, example
from realtoros_crm.webhooks.catalogue import TYPES_BY_NAME

PayloadScope = Literal["events:read", "clients:read"]


def _known_types(values: list[str]) -> list[str]:
    unknown = [value for value in values if value not in TYPES_BY_NAME]
    if unknown:
        raise ValueError(f"unknown event type {unknown[0]!r}: one of {', '.join(TYPES_BY_NAME)}")
    return list(dict.fromkeys(values))


def _with_events(values: list[PayloadScope]) -> list[PayloadScope]:
    return list(dict.fromkeys(["events:read", *values]))


def _events_only() -> list[PayloadScope]:
    return ["events:read"]


EventTypes = Annotated[list[str], Field(min_length=1, max_length=50), AfterValidator(_known_types)]
Scopes = Annotated[list[PayloadScope], AfterValidator(_with_events)]
Url = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
Description = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)]


class EndpointCreate(InputModel):
    model_config = example(
        {
            "url": "https://hooks.zapier.com/hooks/catch/123/abc/",
            "event_types": ["email.bounced", "client.created"],
            "scopes": ["events:read", "clients:read"],
        }
    )

    url: Url
    description: Description = ""
    event_types: EventTypes
    scopes: Scopes = Field(
        default_factory=_events_only,
        description="clients:read adds the client's name, email and phone to payloads.",
    )


class EndpointUpdate(InputModel):
    url: Url | None = None
    description: Description | None = None
    event_types: EventTypes | None = None
    scopes: Scopes | None = None
    enabled: bool | None = Field(
        default=None, description="true re-enables a disabled endpoint; its waiting deliveries go."
    )


class EndpointPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    url: str
    description: str
    event_types: list[str]
    scopes: list[str]
    enabled: bool
    failing_since: datetime | None
    disabled_at: datetime | None
    disabled_reason: str | None
    created_at: datetime


class EndpointCreated(EndpointPublic):
    secret: str = Field(description="The signing secret (whsec_…): verify every delivery with it.")


class DeliveryPublic(BaseModel):
    id: uuid.UUID
    webhook_id: str = Field(description="The webhook-id header: the same on every attempt.")
    event_type: str
    status: str
    attempts: int
    next_attempt_at: datetime | None
    last_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    delivered_at: datetime | None
    created_at: datetime
    payload: dict[str, Any]

    @classmethod
    def of(cls, delivery: Any) -> DeliveryPublic:
        return cls(
            id=delivery.id,
            webhook_id=webhook_id(delivery.id),
            event_type=delivery.event_type,
            status=delivery.status,
            attempts=delivery.attempts,
            next_attempt_at=delivery.next_attempt_at if delivery.status == "pending" else None,
            last_attempt_at=delivery.last_attempt_at,
            last_status_code=delivery.last_status_code,
            last_error=delivery.last_error,
            delivered_at=delivery.delivered_at,
            created_at=delivery.created_at,
            payload=json.loads(delivery.payload),
        )


def webhook_id(delivery_id: uuid.UUID) -> str:
    return f"msg_{delivery_id.hex}"
