"""The TaskDue of a claimed task: everything the composer and the mailer need, so neither
ever calls back.

Two ways to build it, one contract: ``task_due_event`` from records (ORM objects or the
claim's plain rows), one pydantic model at a time; and ``task_due_body``, the same event as
plain data, which the claim validates in one call per task (``TaskDue.model_validate``)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from realtoros_contracts import (
    AgentContext,
    ClientContext,
    DeliveryContext,
    Namespace,
    TaskDue,
    TimelineEntry,
)
from realtoros_crm.unsubscribe_tokens import sign_unsubscribe

HEADER_LIMIT = 300


class DueTaskFacts(Protocol):
    """What the TaskDue tells of the task (a ``Task`` is one)."""

    @property
    def id(self) -> uuid.UUID: ...
    @property
    def due_at(self) -> datetime: ...
    @property
    def purpose(self) -> str: ...
    @property
    def instructions(self) -> str | None: ...


class ClientFacts(Protocol):
    """What the TaskDue tells of the client (a ``Client`` is one)."""

    @property
    def id(self) -> uuid.UUID: ...
    @property
    def name(self) -> str: ...
    @property
    def email(self) -> str | None: ...
    @property
    def stage(self) -> str: ...
    @property
    def phone(self) -> str | None: ...
    @property
    def property_address(self) -> str | None: ...
    @property
    def property_type(self) -> str | None: ...
    @property
    def notes(self) -> str | None: ...
    @property
    def custom_fields(self) -> dict[str, Any]: ...


class AgentFacts(Protocol):
    """What the TaskDue tells of the agent (an ``Agent`` is one)."""

    @property
    def id(self) -> uuid.UUID: ...
    @property
    def name(self) -> str: ...
    @property
    def email(self) -> str: ...
    @property
    def title(self) -> str | None: ...
    @property
    def brokerage(self) -> str | None: ...
    @property
    def phone(self) -> str | None: ...
    @property
    def tone(self) -> str | None: ...
    @property
    def signature(self) -> str | None: ...
    @property
    def postal_address(self) -> str | None: ...
    @property
    def send_mode(self) -> str: ...


@dataclass(frozen=True)
class ClaimContext:
    """What a claim needs from the deployment."""

    ns: Namespace
    public_base_url: str
    unsubscribe_key: bytes

    def unsubscribe_url(self, client_id: uuid.UUID) -> str:
        token = sign_unsubscribe(client_id, self.unsubscribe_key)
        return f"{self.public_base_url.rstrip('/')}/unsubscribe/{token}"


def sender_name(agent: AgentFacts) -> str:
    name = f"{agent.name} via {agent.brokerage}" if agent.brokerage else agent.name
    return name[:HEADER_LIMIT]


def _send_mode(agent: AgentFacts) -> str:
    return "approval" if agent.send_mode == "approval" else "automatic"


def client_context(client: ClientFacts) -> ClientContext:
    return ClientContext(**client_fields(client))


def client_fields(client: ClientFacts) -> dict[str, Any]:
    return {
        "name": client.name,
        "email": client.email,
        "stage": client.stage,
        "phone": client.phone,
        "property_address": client.property_address,
        "property_type": client.property_type,
        "notes": client.notes,
        "custom_fields": {key: str(value) for key, value in client.custom_fields.items()},
    }


def agent_context(agent: AgentFacts) -> AgentContext:
    return AgentContext(**agent_fields(agent))


def agent_fields(agent: AgentFacts) -> dict[str, Any]:
    return {
        "name": agent.name,
        "email": agent.email,
        "title": agent.title,
        "brokerage": agent.brokerage,
        "phone": agent.phone,
        "tone": agent.tone,
    }


def delivery_context(client: ClientFacts, agent: AgentFacts, ctx: ClaimContext) -> DeliveryContext:
    return DeliveryContext(**delivery_fields(client, agent, ctx.unsubscribe_url(client.id)))


def delivery_fields(client: ClientFacts, agent: AgentFacts, unsubscribe_url: str) -> dict[str, Any]:
    return {
        "to_email": client.email,
        "to_name": client.name,
        "from_name": sender_name(agent),
        "reply_to": agent.email,
        "signature": agent.signature or "",
        "postal_address": agent.postal_address or "",
        "unsubscribe_url": unsubscribe_url,
        "send_mode": _send_mode(agent),
    }


def task_due_event(
    task: DueTaskFacts,
    client: ClientFacts,
    agent: AgentFacts,
    timeline: list[TimelineEntry],
    *,
    email_id: uuid.UUID,
    ctx: ClaimContext,
) -> TaskDue:
    """Raises :class:`pydantic.ValidationError` when the records break the contract."""
    return TaskDue(
        email_id=email_id,
        task_id=task.id,
        agent_id=agent.id,
        client_id=client.id,
        due_at=task.due_at,
        purpose=task.purpose,
        instructions=task.instructions,
        client=client_context(client),
        agent=agent_context(agent),
        timeline=timeline,
        delivery=delivery_context(client, agent, ctx),
    )


def task_due_body(
    task: DueTaskFacts,
    client: dict[str, Any],
    agent: dict[str, Any],
    delivery: dict[str, Any],
    timeline: list[dict[str, Any]],
    *,
    email_id: uuid.UUID,
    client_id: uuid.UUID,
    agent_id: uuid.UUID,
) -> dict[str, Any]:
    """``task_due_event``'s event as plain data, from the parts ``client_fields``,
    ``agent_fields`` and ``delivery_fields`` make (so a batch builds an agent's once)."""
    return {
        "email_id": email_id,
        "task_id": task.id,
        "agent_id": agent_id,
        "client_id": client_id,
        "due_at": task.due_at,
        "purpose": task.purpose,
        "instructions": task.instructions,
        "client": client,
        "agent": agent,
        "timeline": timeline,
        "delivery": delivery,
    }
