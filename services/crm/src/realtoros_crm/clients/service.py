"""Clients, always scoped to their agent. Flushes only: the caller commits."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from realtoros_crm.clients.models import Client
from realtoros_crm.clients.schemas import ClientCreate


async def create_client(
    session: AsyncSession, agent_id: uuid.UUID, data: ClientCreate, *, now: datetime
) -> Client:
    client = Client(agent_id=agent_id, created_at=now, updated_at=now, **data.model_dump())
    session.add(client)
    await session.flush()
    return client


async def get_client(
    session: AsyncSession, agent_id: uuid.UUID, client_id: uuid.UUID
) -> Client | None:
    """The agent's client, or None for a deleted one or another agent's."""
    statement = select(Client).where(
        Client.id == client_id, Client.agent_id == agent_id, Client.deleted_at.is_(None)
    )
    return (await session.scalars(statement)).one_or_none()


async def list_clients(
    session: AsyncSession, agent_id: uuid.UUID, *, limit: int, offset: int
) -> Sequence[Client]:
    statement = (
        select(Client)
        .where(Client.agent_id == agent_id, Client.deleted_at.is_(None))
        .order_by(Client.created_at, Client.id)
        .limit(limit)
        .offset(offset)
    )
    return (await session.scalars(statement)).all()
