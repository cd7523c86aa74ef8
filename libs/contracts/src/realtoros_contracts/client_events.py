"""The CRM's record-change events: a client created, updated or unsubscribed, a task
completed (the email pipeline's events are in ``events``, the provider's and replies' in
``mail_events``)."""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

from pydantic import AwareDatetime, Field

from realtoros_contracts.base import Event, _ClientEvent

UnsubscribeSource = Literal["link", "one-click", "agent", "complaint", "bounce", "reply"]
"""What asked for an unsubscription."""


class ClientUnsubscribed(_ClientEvent):
    """A client asked to receive no more email (unsubscribe link, one-click, or the agent)."""

    TYPE = "realtoros.client.unsubscribed.v1"
    PRODUCER = "crm"
    ENTITY = "client"
    ACTION = "unsubscribed"

    email: str = Field(max_length=320)
    source: UnsubscribeSource
    unsubscribed_at: AwareDatetime


class ClientCreated(_ClientEvent):
    """A client was added: by the agent, an import, or a lead source. Carries no contact
    details (a subscriber that may see them reads them from the CRM)."""

    TYPE = "realtoros.client.created.v1"
    PRODUCER = "crm"
    ENTITY = "client"
    ACTION = "created"

    stage: str = Field(max_length=40)
    source: str | None = Field(default=None, max_length=100)
    created_at: AwareDatetime


class ClientUpdated(_ClientEvent):
    """Some of a client's fields changed (named in ``changed``, never their values)."""

    TYPE = "realtoros.client.updated.v1"
    PRODUCER = "crm"
    ENTITY = "client"
    ACTION = "updated"

    changed: list[Annotated[str, Field(max_length=60)]] = Field(max_length=40)
    stage: str = Field(max_length=40, description="The client's stage after the change.")
    updated_at: AwareDatetime


class TaskCompleted(Event):
    """The agent marked a task done (a call made, a meeting held, an email handled)."""

    TYPE = "realtoros.task.completed.v1"
    PRODUCER = "crm"
    ENTITY = "task"
    ACTION = "completed"

    agent_id: UUID
    task_id: UUID
    client_id: UUID
    task_type: str = Field(max_length=20)
    purpose: str = Field(max_length=200)
    completed_at: AwareDatetime

    def ce_subject(self) -> str:
        return str(self.task_id)
