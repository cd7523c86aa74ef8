"""The TaskDue of a claimed task: everything the composer and the mailer need, so neither
ever calls back."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from realtoros_contracts import (
    AgentContext,
    ClientContext,
    DeliveryContext,
    Namespace,
    TaskDue,
    TimelineEntry,
)
from realtoros_crm.agents.models import Agent
from realtoros_crm.clients.models import Client
from realtoros_crm.tasks.models import Task
from realtoros_crm.unsubscribe_tokens import sign_unsubscribe

HEADER_LIMIT = 300


@dataclass(frozen=True)
class ClaimContext:
    """What a claim needs from the deployment."""

    ns: Namespace
    public_base_url: str
    unsubscribe_key: bytes

    def unsubscribe_url(self, client_id: uuid.UUID) -> str:
        token = sign_unsubscribe(client_id, self.unsubscribe_key)
        return f"{self.public_base_url.rstrip('/')}/unsubscribe/{token}"


def sender_name(agent: Agent) -> str:
    name = f"{agent.name} via {agent.brokerage}" if agent.brokerage else agent.name
    return name[:HEADER_LIMIT]


def client_context(client: Client) -> ClientContext:
    return ClientContext(
        name=client.name,
        email=client.email,
        stage=client.stage,
        phone=client.phone,
        property_address=client.property_address,
        property_type=client.property_type,
        notes=client.notes,
        custom_fields={key: str(value) for key, value in client.custom_fields.items()},
    )


def agent_context(agent: Agent) -> AgentContext:
    return AgentContext(
        name=agent.name,
        email=agent.email,
        title=agent.title,
        brokerage=agent.brokerage,
        phone=agent.phone,
        tone=agent.tone,
    )


def delivery_context(client: Client, agent: Agent, ctx: ClaimContext) -> DeliveryContext:
    return DeliveryContext(
        to_email=client.email,
        to_name=client.name,
        from_name=sender_name(agent),
        reply_to=agent.email,
        signature=agent.signature or "",
        postal_address=agent.postal_address or "",
        unsubscribe_url=ctx.unsubscribe_url(client.id),
        send_mode="approval" if agent.send_mode == "approval" else "automatic",
    )


def task_due_event(
    task: Task,
    client: Client,
    agent: Agent,
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
