"""Every statement on ``client_lead_ids`` (a source's lead id → the client it became).
Flushes only: the entrypoint commits."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from realtoros_crm.apikeys.models import ClientLeadId
from realtoros_crm.clients.models import Client


async def lock_client_of_lead(
    session: AsyncSession, agent_id: uuid.UUID, source: str, lead_id: str
) -> Client | None:
    """The live client the source's lead became, locked; None when it is new."""
    statement = (
        select(Client)
        .join(ClientLeadId, ClientLeadId.client_id == Client.id)
        .where(
            ClientLeadId.agent_id == agent_id,
            ClientLeadId.source == source,
            ClientLeadId.lead_id == lead_id,
            Client.deleted_at.is_(None),
        )
        .with_for_update(of=Client)
    )
    return (await session.scalars(statement)).one_or_none()


async def link_lead(
    session: AsyncSession,
    agent_id: uuid.UUID,
    source: str,
    lead_id: str,
    client_id: uuid.UUID,
    now: datetime,
) -> None:
    """Remember the source's lead id for the client (a deleted client's id moves on)."""
    statement = insert(ClientLeadId).values(
        agent_id=agent_id, source=source, lead_id=lead_id, client_id=client_id, created_at=now
    )
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=["agent_id", "source", "lead_id"], set_={"client_id": client_id}
        )
    )
