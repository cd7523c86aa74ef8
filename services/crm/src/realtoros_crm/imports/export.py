"""The CSV export: the filtered list, page by page (keyset), streamed as it is read."""

from __future__ import annotations

import csv
import io
import json
import re
import uuid
from collections.abc import AsyncIterator

from realtoros_crm.clients.listing import ClientFilter, list_clients
from realtoros_crm.clients.models import Client
from realtoros_crm.db import Sessions

PAGE = 2000
HEADER = [
    "name", "email", "phone", "stage", "property_address", "property_type", "source", "tags",
    "notes", "timezone", "unsubscribed", "last_contacted_at", "created_at", "custom_fields",
]  # fmt: skip


_PHONE = re.compile(r"[+-]?[0-9 ().-]*")


def _cell(value: object) -> str:
    text = "" if value is None else str(value)
    # A spreadsheet runs a cell that starts like a formula: neutralise it (CSV injection),
    # except a phone number such as +1 555 0100.
    risky = text[:1] in ("=", "+", "-", "@", "\t", "\r") and not _PHONE.fullmatch(text)
    return "'" + text if risky else text


def _row(client: Client) -> list[str]:
    values: list[object] = [
        client.name, client.email, client.phone, client.stage, client.property_address,
        client.property_type, client.source, ", ".join(client.tags), client.notes,
        client.timezone, "yes" if client.unsubscribed else "no",
        client.last_contacted_at.isoformat() if client.last_contacted_at else None,
        client.created_at.isoformat(),
        json.dumps(client.custom_fields) if client.custom_fields else None,
    ]  # fmt: skip
    return [_cell(value) for value in values]


def _csv(rows: list[list[str]]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue()


async def export_rows(
    sessions: Sessions, agent_id: uuid.UUID, where: ClientFilter
) -> AsyncIterator[str]:
    # Its own session: the request's is closed once the response starts streaming.
    yield _csv([HEADER])
    cursor: str | None = None
    while True:
        async with sessions() as session:
            clients, cursor = await list_clients(
                session, agent_id, where, limit=PAGE, cursor=cursor
            )
            chunk = _csv([_row(client) for client in clients])
        if chunk:
            yield chunk
        if cursor is None:
            return
