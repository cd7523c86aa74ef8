"""One page of the client list as the API answers it, for ``GET /clients`` and a saved
list's ``GET /lists/{id}/clients``: the rows, and the next page's cursor in
``X-Next-Cursor`` and the ``Link: <…>; rel="next"`` header (absent on the last page)."""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import urlencode

from fastapi import HTTPException, Request, Response, status
from sqlalchemy.ext.asyncio import AsyncSession

from realtoros_crm.clients.listing import ClientFilter, InvalidCursor, list_client_rows
from realtoros_crm.clients.models import Client
from realtoros_crm.clients.schemas import ClientPublic

# The list's columns: exactly what the page shows (FastAPI validates the rows into
# ``ClientPublic`` and serialises them in one pass; no ORM objects on this hot path).
LISTED = [getattr(Client, name) for name in ClientPublic.model_fields]


async def client_page(
    request: Request,
    response: Response,
    session: AsyncSession,
    agent_id: uuid.UUID,
    where: ClientFilter,
    limit: int,
    cursor: str | None,
) -> list[dict[str, Any]]:
    try:
        rows, next_cursor = await list_client_rows(
            session, agent_id, where, columns=LISTED, limit=limit, cursor=cursor
        )
    except InvalidCursor as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, str(exc)) from None
    if next_cursor is not None:
        params = [(k, v) for k, v in request.query_params.multi_items() if k != "cursor"]
        link = f"{request.url.path}?{urlencode([*params, ('cursor', next_cursor)])}"
        response.headers["X-Next-Cursor"] = next_cursor
        response.headers["Link"] = f'<{link}>; rel="next"'
    return [dict(row._mapping) for row in rows]  # validated faster than from attributes
