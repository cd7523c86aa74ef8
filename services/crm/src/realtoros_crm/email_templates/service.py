"""The agent's email templates: saved only with merge fields the agent can fill, previewed
with a client's data, refused for deletion while a plan step or a pending task sends one.
Flushes only: the entrypoint commits."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from realtoros_crm.agents.models import Agent
from realtoros_crm.clients.models import Client
from realtoros_crm.customfields.service import list_fields
from realtoros_crm.db import add_row, delete_row, name_taken
from realtoros_crm.email_templates.merge import (
    STANDARD,
    check_template,
    fields_in,
    merge_values,
    preview,
)
from realtoros_crm.email_templates.models import EmailTemplate
from realtoros_crm.email_templates.repository import get_template as get_template
from realtoros_crm.email_templates.repository import list_templates as list_templates
from realtoros_crm.email_templates.repository import template_in_use
from realtoros_crm.email_templates.schemas import (
    MergeField,
    TemplateCreate,
    TemplatePreview,
    TemplateUpdate,
)


class TemplateConflict(Exception):
    """A name already taken, or a template still in use (409)."""


class TemplateNotFound(LookupError):
    """Not one of the agent's templates (404, or 422 when named in another request)."""


async def check_owned(
    session: AsyncSession, agent_id: uuid.UUID, template_ids: Iterable[uuid.UUID | None]
) -> None:
    """:class:`TemplateNotFound` unless every id given is one of the agent's templates."""
    for template_id in {t for t in template_ids if t is not None}:
        if await get_template(session, agent_id, template_id) is None:
            raise TemplateNotFound(f"email template {template_id} not found")


async def merge_fields(session: AsyncSession, agent_id: uuid.UUID) -> list[MergeField]:
    """Every field a template of this agent may use."""
    fields = [MergeField(name=name, description=text) for name, text in STANDARD.items()]
    custom = await list_fields(session, agent_id)
    return fields + [MergeField(name=f.key, description=f"custom field: {f.label}") for f in custom]


async def _check(session: AsyncSession, agent_id: uuid.UUID, subject: str, body: str) -> None:
    check_template(subject, body, (f.key for f in await list_fields(session, agent_id)))


async def _name_taken(
    session: AsyncSession, agent_id: uuid.UUID, name: str, but: uuid.UUID | None = None
) -> None:
    if await name_taken(session, EmailTemplate, agent_id, name, but=but):
        raise TemplateConflict(f"you already have a template named '{name}'")


async def create_template(
    session: AsyncSession, agent_id: uuid.UUID, data: TemplateCreate, now: datetime
) -> EmailTemplate:
    """:class:`~realtoros_crm.email_templates.merge.TemplateInvalid`, :class:`TemplateConflict`."""
    await _check(session, agent_id, data.subject, data.body)
    await _name_taken(session, agent_id, data.name)
    template = EmailTemplate(agent_id=agent_id, created_at=now, updated_at=now, **data.model_dump())
    return await add_row(session, template)


async def update_template(
    session: AsyncSession, template: EmailTemplate, data: TemplateUpdate, now: datetime
) -> None:
    subject, body = data.subject or template.subject, data.body or template.body
    await _check(session, template.agent_id, subject, body)
    if data.name is not None:
        await _name_taken(session, template.agent_id, data.name, but=template.id)
        template.name = data.name
    template.subject, template.body, template.updated_at = subject, body, now
    await session.flush()


async def delete_template(session: AsyncSession, template: EmailTemplate) -> None:
    """Refused while a plan's step or a pending task sends it: they would send nothing."""
    if await template_in_use(session, template.id):
        raise TemplateConflict(
            f"template '{template.name}' is used by a plan step or a pending task: "
            "change those first"
        )
    await delete_row(session, template)


def preview_for(subject: str, body: str, client: Client, agent: Agent) -> TemplatePreview:
    values = merge_values(client, agent)
    shown = preview(subject, body, values)
    missing = [n for n in fields_in(subject, body) if not (values.get(n) or "").strip()]
    return TemplatePreview(
        subject=shown.subject, body=shown.body, missing=missing, ready=not missing
    )
