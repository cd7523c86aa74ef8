"""The email templates of a claim batch: loaded in one query, rendered per task into the
TaskDue (so the composer sends the agent's own text and never calls back). A template with
a field the client has no value for fails the task with that reason: nothing is sent."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from realtoros_crm.email_templates.merge import (
    MergeAgent,
    MergeClient,
    MissingMergeFields,
    merge_values,
    render,
)
from realtoros_crm.email_templates.models import EmailTemplate


@dataclass(frozen=True)
class _Template:
    id: uuid.UUID
    name: str
    subject: str
    body: str


@dataclass
class BatchTemplates:
    by_id: dict[uuid.UUID, _Template]

    def rendered(
        self, template_id: uuid.UUID, client: MergeClient, agent: MergeAgent
    ) -> tuple[dict[str, Any] | None, str | None]:
        """(the TaskDue's ``template`` part, None) or (None, why the task fails)."""
        template = self.by_id.get(template_id)
        if template is None:
            return None, "its email template no longer exists"
        try:
            text = render(template.subject, template.body, merge_values(client, agent))
        except MissingMergeFields as exc:
            fields = ", ".join(name.replace("_", " ") for name in exc.names)
            return None, f"template '{template.name}' needs {fields}: empty for this client"
        part = {"template_id": template.id, "name": template.name, "subject": text.subject}
        return part | {"body": text.body}, None


async def load_templates(
    session: AsyncSession, template_ids: Iterable[uuid.UUID | None]
) -> BatchTemplates:
    ids = list({t for t in template_ids if t is not None})
    if not ids:
        return BatchTemplates({})
    columns = (EmailTemplate.id, EmailTemplate.name, EmailTemplate.subject, EmailTemplate.body)
    rows = (await session.execute(select(*columns).where(EmailTemplate.id.in_(ids)))).all()
    return BatchTemplates({row[0]: _Template(*row) for row in rows})
