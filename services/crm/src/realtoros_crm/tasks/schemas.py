"""What the API accepts and returns about follow-up tasks."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from realtoros_crm.emails.models import EmailStatus
from realtoros_crm.fields import InputModel, Line, ZonedDatetime
from realtoros_crm.tasks.models import TaskPriority, TaskStatus, TaskType

Purpose = Annotated[Line, Field(min_length=1)]


class EmailPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    task_id: uuid.UUID
    client_id: uuid.UUID
    status: EmailStatus
    to_email: str
    subject: str | None
    body_text: str | None
    composer: str | None
    model: str | None
    needs_review: bool
    review_reasons: list[str]
    provider_message_id: str | None
    transport: str | None
    sent_at: datetime | None
    failure_reason: str | None
    edited_at: datetime | None
    approved_at: datetime | None
    delivered_at: datetime | None
    delivery_delayed_at: datetime | None
    first_opened_at: datetime | None
    open_count: int
    first_clicked_at: datetime | None
    click_count: int
    bounced_at: datetime | None
    bounce_type: str | None
    complained_at: datetime | None
    rejected_at: datetime | None
    replied_at: datetime | None = None
    held_at: datetime | None = None


class TaskCreate(InputModel):
    client_id: uuid.UUID
    due_at: ZonedDatetime = Field(description="When it falls due; must carry a time zone.")
    task_type: TaskType = Field(
        default="email", description="email (composed and sent), call, meeting or custom."
    )
    purpose: Purpose = "Custom"
    instructions: str | None = Field(default=None, max_length=5000)
    priority: TaskPriority = "medium"
    template_id: uuid.UUID | None = Field(
        default=None, description="An email task sends this template instead of an AI draft."
    )

    @model_validator(mode="after")
    def _template_for_email(self) -> TaskCreate:
        if self.template_id is not None and self.task_type != "email":
            raise ValueError("only an email task sends a template")
        return self


class TaskUpdate(InputModel):
    """Reschedule or edit a pending task."""

    due_at: ZonedDatetime | None = None
    purpose: Purpose | None = None
    instructions: str | None = Field(default=None, max_length=5000)
    priority: TaskPriority | None = None


BulkAction = Literal["complete", "skip", "cancel", "reschedule"]


class BulkRequest(InputModel):
    task_ids: list[uuid.UUID] = Field(min_length=1, max_length=500)
    action: BulkAction
    due_at: ZonedDatetime | None = Field(default=None, description="For reschedule.")

    @model_validator(mode="after")
    def _due_at_for_reschedule(self) -> BulkRequest:
        if self.action == "reschedule" and self.due_at is None:
            raise ValueError("due_at is required to reschedule")
        return self


class BulkProblem(BaseModel):
    task_id: uuid.UUID
    detail: str


class BulkResult(BaseModel):
    updated: list[uuid.UUID]
    not_done: list[BulkProblem]


class TaskPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    client_id: uuid.UUID
    task_type: TaskType
    purpose: str
    instructions: str | None
    priority: TaskPriority
    due_at: datetime
    status: TaskStatus
    failure_reason: str | None
    plan_run_id: uuid.UUID | None
    step_position: int | None
    template_id: uuid.UUID | None = None
    completed_at: datetime | None
    email: EmailPublic | None
    created_at: datetime
    updated_at: datetime


class CalendarDay(BaseModel):
    date: date
    tasks: list[TaskPublic]
