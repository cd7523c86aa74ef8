"""What the API accepts and returns about the client timeline and logged activities."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from realtoros_crm.fields import InputModel, ZonedDatetime

LoggedKind = Literal["call", "meeting", "note"]
CallOutcome = Literal["connected", "left_voicemail", "no_answer", "busy", "wrong_number"]
OUTCOME_LABELS = {
    "connected": "connected",
    "left_voicemail": "left a voicemail",
    "no_answer": "no answer",
    "busy": "busy",
    "wrong_number": "wrong number",
}


class ActivityPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    kind: str
    summary: str
    email_id: uuid.UUID | None
    task_id: uuid.UUID | None
    occurred_at: datetime
    outcome: str | None = None
    duration_minutes: int | None = None


class ActivityCreate(InputModel):
    """A call, a meeting or a note the agent logs on the client's timeline."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "kind": "call",
                    "outcome": "connected",
                    "duration_minutes": 12,
                    "notes": "Wants to see 12 Elm St on Saturday.",
                    "occurred_at": "2026-05-01T10:30:00-04:00",
                }
            ]
        }
    )

    kind: LoggedKind
    occurred_at: ZonedDatetime | None = Field(default=None, description="Default: now.")
    notes: Annotated[str, StringConstraints(strip_whitespace=True, max_length=1800)] = ""
    outcome: CallOutcome | None = Field(default=None, description="A call's outcome.")
    duration_minutes: int | None = Field(default=None, ge=0, le=1440)
    task_id: uuid.UUID | None = Field(default=None, description="Logged from this task.")
    complete_task: bool = Field(default=False, description="Also complete the task.")

    @model_validator(mode="after")
    def _fits_the_kind(self) -> ActivityCreate:
        if self.kind == "call" and self.outcome is None:
            raise ValueError("a call needs its outcome")
        if self.kind != "call" and self.outcome is not None:
            raise ValueError("only a call has an outcome")
        if self.kind == "note" and (not self.notes or self.duration_minutes is not None):
            raise ValueError("a note needs its text (and has no duration)")
        if self.complete_task and self.task_id is None:
            raise ValueError("complete_task needs task_id")
        return self


class ActivityLogged(BaseModel):
    activity: ActivityPublic
    paused_plans: list[str] = Field(
        description="The plans this conversation paused (each plan's own setting)."
    )
    task_completed: bool
