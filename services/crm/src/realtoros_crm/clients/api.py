"""The agent's clients."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, status

from realtoros_crm.activities.schemas import ActivityPublic
from realtoros_crm.activities.service import client_timeline
from realtoros_crm.api.deps import CurrentAgent, SessionDep, StateDep
from realtoros_crm.clients.schemas import ClientCreate, ClientPublic
from realtoros_crm.clients.service import create_client, get_client, list_clients

router = APIRouter(prefix="/clients", tags=["clients"])


@router.post("", status_code=status.HTTP_201_CREATED)
async def add_client(
    data: ClientCreate, agent: CurrentAgent, session: SessionDep, state: StateDep
) -> ClientPublic:
    """Add a client."""
    client = await create_client(session, agent.id, data, now=state.clock())
    await session.commit()
    return ClientPublic.model_validate(client)


@router.get("")
async def read_clients(
    agent: CurrentAgent,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> list[ClientPublic]:
    """The agent's clients, oldest first."""
    clients = await list_clients(session, agent.id, limit=limit, offset=offset)
    return [ClientPublic.model_validate(client) for client in clients]


@router.get("/{client_id}")
async def read_client(
    client_id: uuid.UUID, agent: CurrentAgent, session: SessionDep
) -> ClientPublic:
    """One of the agent's clients."""
    client = await get_client(session, agent.id, client_id)
    if client is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"client {client_id} not found")
    return ClientPublic.model_validate(client)


@router.get("/{client_id}/timeline")
async def read_client_timeline(
    client_id: uuid.UUID,
    agent: CurrentAgent,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[ActivityPublic]:
    """What happened with one of the agent's clients, newest first."""
    if await get_client(session, agent.id, client_id) is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"client {client_id} not found")
    activities = await client_timeline(session, agent.id, client_id, limit=limit)
    return [ActivityPublic.model_validate(activity) for activity in activities]
