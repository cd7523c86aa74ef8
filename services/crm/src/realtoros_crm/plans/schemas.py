"""What the API accepts and returns about follow-up plans and their runs."""

from __future__ import annotations

import uuid
from datetime import datetime, time
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from realtoros_crm.clients.models import Stage
from realtoros_crm.fields import InputModel, Line, ZonedDatetime
from realtoros_crm.plans.models import OnReply, Priority, RunStatus, StepAction

Purpose = Annotated[Line, Field(min_length=1)]


def _local(value: time) -> time:
    if value.tzinfo is not None:
        raise ValueError("must be a local time without an offset, e.g. 10:00")
    return value


LocalTime = Annotated[time, AfterValidator(_local)]
ConversationMinutes = Annotated[
    int | None,
    Field(
        ge=0,
        le=600,
        description="A logged connected call or meeting at least this many minutes long "
        "pauses the plan for the client; null: never.",
    ),
]


class StepIn(InputModel):
    delay_days: int = Field(ge=0, le=3650, description="Days after the plan starts.")
    time_of_day: LocalTime = Field(default=time(10), description="Local time, e.g. 10:00.")
    action: StepAction = "email"
    purpose: Purpose
    instructions: str | None = Field(default=None, max_length=5000)
    priority: Priority = "medium"
    template_id: uuid.UUID | None = Field(
        default=None, description="An email step sends this template instead of an AI draft."
    )

    @model_validator(mode="after")
    def _template_for_email(self) -> StepIn:
        if self.template_id is not None and self.action != "email":
            raise ValueError("only an email step sends a template")
        return self


class StepUpdate(InputModel):
    delay_days: int | None = Field(default=None, ge=0, le=3650)
    time_of_day: LocalTime | None = None
    action: StepAction | None = None
    purpose: Purpose | None = None
    instructions: str | None = Field(default=None, max_length=5000)
    priority: Priority | None = None
    position: int | None = Field(default=None, ge=0, le=1000)
    template_id: uuid.UUID | None = Field(default=None, description="null: an AI draft.")


class PlanCreate(InputModel):
    name: Annotated[Line, Field(min_length=1)]
    description: str | None = Field(default=None, max_length=2000)
    start_on_stage: Stage | None = None
    is_default: bool = False
    on_reply: OnReply = Field(
        default="pause", description="What a client's reply does to a run: pause, stop, continue."
    )
    pause_on_conversation_minutes: ConversationMinutes = None
    steps: list[StepIn] = Field(default_factory=list, max_length=100)


class PlanUpdate(InputModel):
    name: Annotated[Line, Field(min_length=1)] | None = None
    description: str | None = Field(default=None, max_length=2000)
    start_on_stage: Stage | None = None
    is_default: bool | None = None
    on_reply: OnReply | None = None
    pause_on_conversation_minutes: ConversationMinutes = None


class StepPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    position: int
    delay_days: int
    time_of_day: time
    action: StepAction
    purpose: str
    instructions: str | None
    priority: Priority
    template_id: uuid.UUID | None = None


class PlanPublic(BaseModel):
    id: uuid.UUID
    name: str
    description: str | None
    start_on_stage: Stage | None
    is_default: bool
    builtin: bool
    on_reply: OnReply
    pause_on_conversation_minutes: int | None = None
    steps: list[StepPublic]
    created_at: datetime
    updated_at: datetime


class ApplyPlan(InputModel):
    plan_id: uuid.UUID
    start_at: ZonedDatetime | None = Field(
        default=None, description="When the plan starts (default: now); delays count from it."
    )


class RunPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    client_id: uuid.UUID
    plan_id: uuid.UUID | None
    plan_name: str
    status: RunStatus
    started_at: datetime
    paused_at: datetime | None
    ended_at: datetime | None
    stop_reason: str | None
    pause_reason: str | None = None
