"""Every statement on ``client_imports`` (the clients an import writes: ``clients/
repository.py``). Flushes only; an import's batches commit in sessions of their own."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from realtoros_crm.db import owned_row
from realtoros_crm.imports.models import ClientImport


async def get_import(
    session: AsyncSession, agent_id: uuid.UUID, import_id: uuid.UUID
) -> ClientImport | None:
    return await owned_row(session, ClientImport, agent_id, import_id)


async def lock_import(session: AsyncSession, import_id: uuid.UUID) -> ClientImport:
    return await session.get_one(ClientImport, import_id, with_for_update=True)


async def import_agent(session: AsyncSession, import_id: uuid.UUID) -> uuid.UUID:
    return (await session.get_one(ClientImport, import_id)).agent_id
