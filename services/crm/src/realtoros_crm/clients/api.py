"""The agent's clients: one at a time, in bulk, the list, the timeline."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Query, Request, Response, status
from sqlalchemy.ext.asyncio import AsyncSession

from realtoros_crm.activities.schemas import ActivityPublic
from realtoros_crm.activities.service import client_timeline
from realtoros_crm.api.deps import CurrentAgent, CurrentAgentId, SessionDep, StateDep
from realtoros_crm.api.problems import found, problem_responses
from realtoros_crm.clients.bulk import bulk_delete, bulk_update
from realtoros_crm.clients.listing import ClientFilter
from realtoros_crm.clients.models import Client
from realtoros_crm.clients.paging import client_page
from realtoros_crm.clients.schemas import (
    BulkDelete,
    BulkResult,
    BulkUpdate,
    ClientCreate,
    ClientDetail,
    ClientPublic,
    ClientUpdate,
)
from realtoros_crm.clients.service import (
    ClientInvalid,
    create_client,
    find_duplicates,
    get_client,
    restore,
    soft_delete,
    update_client,
)
from realtoros_crm.clients.stages import StageHooksDep

router = APIRouter(prefix="/clients", tags=["clients"])

NOT_FOUND = problem_responses(404)


async def _detail(session: AsyncSession, client: Client) -> ClientDetail:
    detail = ClientDetail.model_validate(client)
    detail.duplicates = await find_duplicates(session, client)
    return detail


def _invalid(exc: ClientInvalid) -> HTTPException:
    return HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc))


@router.post("", status_code=status.HTTP_201_CREATED, responses=problem_responses(422))
async def add_client(
    data: ClientCreate,
    agent: CurrentAgent,
    session: SessionDep,
    state: StateDep,
    hooks: StageHooksDep,
) -> ClientDetail:
    """Add a client (a name and an email, a phone or both; custom fields checked against
    their definitions); ``duplicates`` warns of clients with the same email or phone."""
    try:
        client, change = await create_client(session, agent.id, data, now=state.clock())
    except ClientInvalid as exc:
        raise _invalid(exc) from None
    await hooks.notify(session, [change])
    detail = await _detail(session, client)
    return detail


@router.get("", responses=problem_responses(400), response_model=list[ClientPublic])
async def read_clients(
    request: Request,
    agent_id: CurrentAgentId,
    session: SessionDep,
    where: Annotated[ClientFilter, Query()],
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(max_length=1000)] = None,
) -> Response:
    """One page of the agent's clients; the next page's cursor is in ``X-Next-Cursor`` and
    the ``Link: <…>; rel="next"`` header (absent on the last page)."""
    return await client_page(request, session, agent_id, where, limit, cursor)


@router.post("/bulk-update")
async def update_clients(
    data: BulkUpdate,
    agent: CurrentAgent,
    session: SessionDep,
    state: StateDep,
    hooks: StageHooksDep,
) -> BulkResult:
    """Set the stage and/or add and remove tags on many clients at once."""
    result, changes = await bulk_update(session, agent.id, data, state.bus.ns, now=state.clock())
    await hooks.notify(session, changes)
    return result


@router.post("/bulk-delete")
async def delete_clients(
    data: BulkDelete, agent: CurrentAgent, session: SessionDep, state: StateDep
) -> BulkResult:
    """Delete many clients (restorable one by one; their email history is kept)."""
    result = await bulk_delete(session, agent.id, data.ids, now=state.clock())
    return result


@router.get("/{client_id}", responses=NOT_FOUND)
async def read_client(
    client_id: uuid.UUID, agent: CurrentAgent, session: SessionDep
) -> ClientDetail:
    """One of the agent's clients, with its possible duplicates."""
    client = found(await get_client(session, agent.id, client_id), "client", client_id)
    return await _detail(session, client)


@router.patch("/{client_id}", responses=problem_responses(404, 422))
async def change_client(
    client_id: uuid.UUID,
    data: ClientUpdate,
    agent: CurrentAgent,
    session: SessionDep,
    state: StateDep,
    hooks: StageHooksDep,
) -> ClientDetail:
    """Change some of a client's fields; a stage change goes on the timeline."""
    client = found(await get_client(session, agent.id, client_id, lock=True), "client", client_id)
    try:
        change = await update_client(session, client, data, state.bus.ns, now=state.clock())
    except ClientInvalid as exc:
        raise _invalid(exc) from None
    await hooks.notify(session, [change] if change else [])
    detail = await _detail(session, client)
    return detail


@router.delete("/{client_id}", status_code=status.HTTP_204_NO_CONTENT, responses=NOT_FOUND)
async def delete_client(
    client_id: uuid.UUID, agent: CurrentAgent, session: SessionDep, state: StateDep
) -> None:
    """Delete a client: gone from lists and follow-ups, email history kept, restorable."""
    client = found(await get_client(session, agent.id, client_id, lock=True), "client", client_id)
    soft_delete(client, state.clock())


@router.post("/{client_id}/restore", responses=NOT_FOUND)
async def restore_client(
    client_id: uuid.UUID, agent: CurrentAgent, session: SessionDep, state: StateDep
) -> ClientDetail:
    """Bring a deleted client back."""
    client = found(
        await get_client(session, agent.id, client_id, deleted=True, lock=True), "client", client_id
    )
    restore(client, state.clock())
    await session.flush()
    detail = await _detail(session, client)
    return detail


@router.get("/{client_id}/timeline", responses=NOT_FOUND)
async def read_client_timeline(
    client_id: uuid.UUID,
    agent: CurrentAgent,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    order: Literal["desc", "asc"] = "desc",
) -> list[ActivityPublic]:
    """Everything that happened with a client, in time order (newest first by default)."""
    found(await get_client(session, agent.id, client_id), "client", client_id)
    activities = await client_timeline(session, agent.id, client_id, limit=limit, order=order)
    return [ActivityPublic.model_validate(activity) for activity in activities]
