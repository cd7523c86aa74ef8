"""One page of the client list as the API answers it, for ``GET /clients`` and a saved
list's ``GET /lists/{id}/clients``: the rows, and the next page's cursor in
``X-Next-Cursor`` and the ``Link: <…>; rel="next"`` header (absent on the last page)."""

from __future__ import annotations

import uuid
from urllib.parse import urlencode

from fastapi import HTTPException, Request, Response, status
from sqlalchemy.ext.asyncio import AsyncSession

from realtoros_crm.clients.listing import ClientFilter, InvalidCursor, list_client_rows
from realtoros_crm.clients.models import Client
from realtoros_crm.clients.schemas import PAGE_JSON, ClientPublic

# The list's columns: exactly what the page shows, as plain rows (no ORM objects), written
# as JSON in one pass by pydantic's serialiser with ClientPublic's field types, without
# validating what the database has already constrained (clients/schemas.py PAGE_JSON).
LISTED = [getattr(Client, name) for name in ClientPublic.model_fields]
_LISTED_NAMES = tuple(ClientPublic.model_fields)


async def client_page(
    request: Request,
    session: AsyncSession,
    agent_id: uuid.UUID,
    where: ClientFilter,
    limit: int,
    cursor: str | None,
) -> Response:
    try:
        rows, next_cursor = await list_client_rows(
            session, agent_id, where, columns=LISTED, limit=limit, cursor=cursor
        )
    except InvalidCursor as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, str(exc)) from None
    headers = {}
    if next_cursor is not None:
        params = [(k, v) for k, v in request.query_params.multi_items() if k != "cursor"]
        link = f"{request.url.path}?{urlencode([*params, ('cursor', next_cursor)])}"
        headers = {"X-Next-Cursor": next_cursor, "Link": f'<{link}>; rel="next"'}
    page = [dict(zip(_LISTED_NAMES, row, strict=True)) for row in rows]
    return Response(PAGE_JSON.dump_json(page), media_type="application/json", headers=headers)
