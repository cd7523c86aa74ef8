"""Saved lists: a client filter kept under a name; its clients, a bulk change of all of
them, and their export."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request, Response, status
from fastapi.responses import StreamingResponse

from realtoros_crm.api.deps import CurrentAgentId, SessionDep, StateDep
from realtoros_crm.api.problems import found, problem_responses
from realtoros_crm.clients.paging import client_page
from realtoros_crm.clients.schemas import BulkResult, ClientPublic
from realtoros_crm.clients.stages import StageHooksDep
from realtoros_crm.imports.export import export_rows
from realtoros_crm.lists.models import SavedList
from realtoros_crm.lists.schemas import ListBulkUpdate, ListCreate, ListPublic, ListUpdate
from realtoros_crm.lists.service import (
    ListConflict,
    bulk_update_list,
    create_list,
    filter_of,
    get_list,
    list_lists,
    update_list,
)
from realtoros_crm.lists.service import delete_list as forget_list

router = APIRouter(prefix="/lists", tags=["saved lists"])
NOT_FOUND = problem_responses(404)


async def _list(session: SessionDep, agent_id: uuid.UUID, list_id: uuid.UUID) -> SavedList:
    return found(await get_list(session, agent_id, list_id), "list", list_id)


def _conflict(exc: ListConflict) -> HTTPException:
    return HTTPException(status.HTTP_409_CONFLICT, str(exc))


@router.get("")
async def read_lists(agent_id: CurrentAgentId, session: SessionDep) -> list[ListPublic]:
    """The agent's saved lists, by name."""
    return [ListPublic.model_validate(s) for s in await list_lists(session, agent_id)]


@router.post("", status_code=status.HTTP_201_CREATED, responses=problem_responses(409))
async def add_list(
    data: ListCreate, agent_id: CurrentAgentId, session: SessionDep, state: StateDep
) -> ListPublic:
    """Save a filter of the client list under a name."""
    try:
        saved = await create_list(session, agent_id, data, state.clock())
    except ListConflict as exc:
        raise _conflict(exc) from None
    return ListPublic.model_validate(saved)


@router.get("/{list_id}", responses=NOT_FOUND)
async def read_list(
    list_id: uuid.UUID, agent_id: CurrentAgentId, session: SessionDep
) -> ListPublic:
    """One saved list."""
    return ListPublic.model_validate(await _list(session, agent_id, list_id))


@router.patch("/{list_id}", responses=problem_responses(404, 409))
async def change_list(
    list_id: uuid.UUID,
    data: ListUpdate,
    agent_id: CurrentAgentId,
    session: SessionDep,
    state: StateDep,
) -> ListPublic:
    """Rename a list or change its filter."""
    saved = await _list(session, agent_id, list_id)
    try:
        await update_list(session, saved, data, state.clock())
    except ListConflict as exc:
        raise _conflict(exc) from None
    return ListPublic.model_validate(saved)


@router.delete("/{list_id}", status_code=status.HTTP_204_NO_CONTENT, responses=NOT_FOUND)
async def delete_list(list_id: uuid.UUID, agent_id: CurrentAgentId, session: SessionDep) -> None:
    """Forget a saved list (its clients stay)."""
    await forget_list(session, await _list(session, agent_id, list_id))


@router.get("/{list_id}/clients", responses=NOT_FOUND, response_model=list[ClientPublic])
async def read_list_clients(
    list_id: uuid.UUID,
    request: Request,
    agent_id: CurrentAgentId,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(max_length=1000)] = None,
) -> Response:
    """The clients in the list now, paged like ``GET /clients`` (``X-Next-Cursor``)."""
    where = filter_of(await _list(session, agent_id, list_id))
    return await client_page(request, session, agent_id, where, limit, cursor)


@router.post("/{list_id}/bulk-update", responses=NOT_FOUND)
async def update_list_clients(
    list_id: uuid.UUID,
    data: ListBulkUpdate,
    agent_id: CurrentAgentId,
    session: SessionDep,
    state: StateDep,
    hooks: StageHooksDep,
) -> BulkResult:
    """Set the stage and/or add and remove tags on every client in the list."""
    saved = await _list(session, agent_id, list_id)
    result, changes = await bulk_update_list(session, saved, data, state.clock(), ns=state.bus.ns)
    await hooks.notify(session, changes)
    return result


@router.get(
    "/{list_id}/export.csv",
    response_class=StreamingResponse,
    responses={
        200: {"content": {"text/csv": {}}, "description": "The clients as CSV."},
        **NOT_FOUND,
    },
)
async def export_list(
    list_id: uuid.UUID, agent_id: CurrentAgentId, session: SessionDep, state: StateDep
) -> StreamingResponse:
    """The list's clients as CSV, streamed."""
    saved = await _list(session, agent_id, list_id)
    return StreamingResponse(
        export_rows(state.sessions, agent_id, filter_of(saved)),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="list.csv"'},
    )
