"""Every statement on ``custom_fields``. Flushes only: the entrypoint commits."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from realtoros_crm.customfields.models import CustomField
from realtoros_crm.db import owned_row, owned_rows


async def get_field(
    session: AsyncSession, agent_id: uuid.UUID, field_id: uuid.UUID
) -> CustomField | None:
    return await owned_row(session, CustomField, agent_id, field_id)


async def list_fields(session: AsyncSession, agent_id: uuid.UUID) -> Sequence[CustomField]:
    """By label."""
    return await owned_rows(session, CustomField, agent_id, CustomField.label)
