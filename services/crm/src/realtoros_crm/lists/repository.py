"""Every statement on ``saved_lists`` (the clients a list holds: ``clients/listing.py``).
Flushes only: the entrypoint commits."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from realtoros_crm.db import owned_row, owned_rows
from realtoros_crm.lists.models import SavedList


async def list_lists(session: AsyncSession, agent_id: uuid.UUID) -> Sequence[SavedList]:
    return await owned_rows(session, SavedList, agent_id, SavedList.name)


async def get_list(
    session: AsyncSession, agent_id: uuid.UUID, list_id: uuid.UUID
) -> SavedList | None:
    return await owned_row(session, SavedList, agent_id, list_id)
