"""Every statement on ``email_templates``. Flushes only: the entrypoint commits."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import exists, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from realtoros_crm.db import owned_row, owned_rows
from realtoros_crm.email_templates.models import EmailTemplate
from realtoros_crm.plans.models import Plan, PlanStep
from realtoros_crm.tasks.models import Task


async def list_templates(session: AsyncSession, agent_id: uuid.UUID) -> Sequence[EmailTemplate]:
    return await owned_rows(session, EmailTemplate, agent_id, EmailTemplate.name, EmailTemplate.id)


async def get_template(
    session: AsyncSession, agent_id: uuid.UUID, template_id: uuid.UUID
) -> EmailTemplate | None:
    return await owned_row(session, EmailTemplate, agent_id, template_id)


async def template_in_use(session: AsyncSession, template_id: uuid.UUID) -> bool:
    """Whether a plan's step or a pending task sends the template."""
    step = select(PlanStep.id).join(Plan, Plan.id == PlanStep.plan_id)
    used = await session.scalar(
        select(
            or_(
                exists(step.where(PlanStep.template_id == template_id)),
                exists().where(Task.template_id == template_id, Task.status == "pending"),
            )
        )
    )
    return bool(used)
