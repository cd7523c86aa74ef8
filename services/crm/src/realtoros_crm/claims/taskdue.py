"""The TaskDue of a claimed task: everything the composer and the mailer need, so neither
ever calls back. One builder, ``task_due_body`` (plain data, validated in one call per
task); ``task_due_event`` is it for one task's records (ORM objects or the claim's rows)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any, Protocol

from pydantic import ValidationError

from realtoros_contracts import (
    AgentContext,
    ClientContext,
    DeliveryContext,
    Namespace,
    TaskDue,
    TimelineEntry,
)
from realtoros_crm.agents.models import Agent
from realtoros_crm.claims.repository import AgentRow, ClientRow, TaskRow
from realtoros_crm.clients.models import Client
from realtoros_crm.email_templates.merge import (
    MergeAgent,
    MergeClient,
    MissingMergeFields,
    merge_values,
    render,
)
from realtoros_crm.replies.models import REPLY_KIND
from realtoros_crm.settings import CrmSettings
from realtoros_crm.tasks.models import Task
from realtoros_crm.unsubscribe_tokens import sign_unsubscribe
from realtoros_runtime.consuming import describe_validation_error

HEADER_LIMIT = 300


DueTaskFacts = Task | TaskRow
"""What the TaskDue tells of the task: the ORM's, or the claim's row."""
ClientFacts = Client | ClientRow
AgentFacts = Agent | AgentRow


@dataclass(frozen=True)
class ClaimContext:
    """What a claim needs from the deployment."""

    ns: Namespace
    public_base_url: str
    unsubscribe_key: bytes

    @classmethod
    def of(cls, ns: Namespace, settings: CrmSettings) -> ClaimContext:
        return cls(ns, str(settings.public_base_url), settings.unsubscribe_key())

    def unsubscribe_url(self, client_id: uuid.UUID) -> str:
        token = sign_unsubscribe(client_id, self.unsubscribe_key)
        return f"{self.public_base_url.rstrip('/')}/unsubscribe/{token}"


def sender_name(agent: AgentFacts) -> str:
    name = f"{agent.name} via {agent.brokerage}" if agent.brokerage else agent.name
    return name[:HEADER_LIMIT]


def _send_mode(agent: AgentFacts) -> str:
    return "approval" if agent.send_mode == "approval" else "automatic"


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
        "detect_replies": not agent.replies_to_me,
    }


def latest_reply(timeline: list[dict[str, Any]]) -> str | None:
    """The newest reply on the recent timeline (untrusted text: the composer fences it)."""
    replies = [entry for entry in timeline if entry["kind"] == REPLY_KIND]
    return max(replies, key=lambda e: e["at"])["summary"] if replies else None


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
    """The TaskDue as plain data, from the parts ``client_fields``, ``agent_fields`` and
    ``delivery_fields`` make (a claim batch builds each agent's and client's parts once);
    ``TaskDue.model_validate`` makes it the event."""
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
        "latest_reply": latest_reply(timeline),
        "delivery": delivery,
    }


def task_due_event(
    task: DueTaskFacts,
    client: ClientFacts,
    agent: AgentFacts,
    timeline: list[dict[str, Any]],
    *,
    email_id: uuid.UUID,
    ctx: ClaimContext,
    template: dict[str, Any] | None = None,
) -> TaskDue:
    """One task's TaskDue, through ``task_due_body``. Raises
    :class:`pydantic.ValidationError` when the records break the contract."""
    url = ctx.unsubscribe_url(client.id)
    body = task_due_body(
        task,
        client_fields(client),
        agent_fields(agent),
        delivery_fields(client, agent, url),
        timeline,
        email_id=email_id,
        client_id=client.id,
        agent_id=agent.id,
    )
    return TaskDue.model_validate(body | {"template": template})


def task_due_problem(body: dict[str, Any]) -> str:
    """Why ``body`` is not a TaskDue, in the words a task has always failed with: the first
    part that breaks its contract (client, agent, delivery), else the event as a whole."""
    # A broken timeline entry is the database's fault, not the task's: it raises.
    for entry in body["timeline"]:
        TimelineEntry.model_validate(entry)
    parts = (("client", ClientContext), ("agent", AgentContext), ("delivery", DeliveryContext))
    try:
        for part, model in parts:
            model.model_validate(body[part])
        TaskDue.model_validate(body)
    except ValidationError as exc:
        return describe_validation_error(exc)
    return "invalid event body"


class TemplateText(Protocol):
    """An email template as the TaskDue renders it."""

    @property
    def id(self) -> uuid.UUID: ...
    @property
    def name(self) -> str: ...
    @property
    def subject(self) -> str: ...
    @property
    def body(self) -> str: ...


def rendered_template(
    template: TemplateText | None, client: MergeClient, agent: MergeAgent
) -> tuple[dict[str, Any] | None, str | None]:
    """(the TaskDue's ``template`` part, None) or (None, why the task fails): a template
    with a field the client has no value for fails the task with that reason (nothing is
    sent), so the composer sends the agent's own text and never calls back."""
    if template is None:
        return None, "its email template no longer exists"
    try:
        text = render(template.subject, template.body, merge_values(client, agent))
    except MissingMergeFields as exc:
        fields = ", ".join(name.replace("_", " ") for name in exc.names)
        return None, f"template '{template.name}' needs {fields}: empty for this client"
    part = {"template_id": template.id, "name": template.name, "subject": text.subject}
    return part | {"body": text.body}, None
