"""Saved lists: a client filter under a name, and what an agent does with every client it
holds (a bulk change, the export). Flushes only: the entrypoint commits."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from realtoros_contracts import Namespace
from realtoros_crm.clients.bulk import bulk_update
from realtoros_crm.clients.listing import ClientFilter, list_statement
from realtoros_crm.clients.models import Client
from realtoros_crm.clients.schemas import BulkResult, BulkUpdate
from realtoros_crm.clients.stages import StageChange
from realtoros_crm.db import add_row, delete_row, name_taken
from realtoros_crm.lists.models import SavedList
from realtoros_crm.lists.repository import get_list as get_list
from realtoros_crm.lists.repository import list_lists as list_lists
from realtoros_crm.lists.schemas import ListBulkUpdate, ListCreate, ListUpdate

BULK_LIMIT = 5000
"""Clients one bulk change of a list touches at most (the answer says when it stopped)."""


class ListConflict(Exception):
    """The agent already has a list with this name (409)."""


def _stored(where: ClientFilter) -> dict[str, object]:
    return where.model_dump(mode="json", exclude_defaults=True)


async def _name_free(
    session: AsyncSession, agent_id: uuid.UUID, name: str, but: uuid.UUID | None
) -> None:
    if await name_taken(session, SavedList, agent_id, name, but=but):
        raise ListConflict(f"you already have a list named '{name}'")


async def create_list(
    session: AsyncSession, agent_id: uuid.UUID, data: ListCreate, now: datetime
) -> SavedList:
    await _name_free(session, agent_id, data.name, None)
    saved = SavedList(
        agent_id=agent_id, name=data.name, filter=_stored(data.filter), created_at=now,
        updated_at=now,
    )  # fmt: skip
    return await add_row(session, saved)


async def update_list(
    session: AsyncSession, saved: SavedList, data: ListUpdate, now: datetime
) -> None:
    if data.name is not None:
        await _name_free(session, saved.agent_id, data.name, saved.id)
        saved.name = data.name
    if data.filter is not None:
        saved.filter = _stored(data.filter)
    saved.updated_at = now
    await session.flush()


async def delete_list(session: AsyncSession, saved: SavedList) -> None:
    """Forget a saved list (its clients stay)."""
    await delete_row(session, saved)


def filter_of(saved: SavedList) -> ClientFilter:
    return ClientFilter.model_validate(saved.filter)


async def bulk_update_list(
    session: AsyncSession, saved: SavedList, data: ListBulkUpdate, now: datetime, *, ns: Namespace
) -> tuple[BulkResult, list[StageChange]]:
    """The change for every client in the list now (up to :data:`BULK_LIMIT`)."""
    where = filter_of(saved).model_copy(update={"sort": "created_at", "order": "asc"})
    statement = list_statement(
        saved.agent_id, where, limit=BULK_LIMIT, cursor=None, columns=(Client.id,)
    )
    ids = list((await session.scalars(statement)).all())
    result, changes = BulkResult(changed=0, not_found=[]), []
    for start in range(0, len(ids), 1000):
        chunk = BulkUpdate(ids=ids[start : start + 1000], **data.model_dump())
        part, part_changes = await bulk_update(session, saved.agent_id, chunk, ns, now=now)
        result.changed += part.changed
        changes.extend(part_changes)
    return result, changes
