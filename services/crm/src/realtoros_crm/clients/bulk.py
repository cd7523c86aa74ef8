"""Bulk stage/tag changes and bulk deletes over the agent's clients. Ids that are not the
agent's (another agent's, deleted, unknown) are reported as not found, all alike."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from realtoros_contracts import Namespace
from realtoros_crm.clients.events import announce_client_update
from realtoros_crm.clients.models import Client
from realtoros_crm.clients.repository import lock_clients
from realtoros_crm.clients.schemas import BulkResult, BulkUpdate
from realtoros_crm.clients.service import _note, change_stage, soft_delete
from realtoros_crm.clients.stages import StageChange


async def _locked(
    session: AsyncSession, agent_id: uuid.UUID, ids: Sequence[uuid.UUID]
) -> tuple[list[Client], list[uuid.UUID]]:
    clients = await lock_clients(session, agent_id, ids)
    found = {client.id for client in clients}
    return clients, [i for i in dict.fromkeys(ids) if i not in found]


def _retag(client: Client, add: list[str], remove: list[str], now: datetime) -> bool:
    tags = [t for t in client.tags if t not in remove] + [
        t for t in add if t not in client.tags and t not in remove
    ]
    if tags == client.tags:
        return False
    added = [t for t in tags if t not in client.tags]
    removed = [t for t in client.tags if t not in tags]
    parts = ([f"added {', '.join(added)}"] if added else []) + (
        [f"removed {', '.join(removed)}"] if removed else []
    )
    _note(client, "tags_changed", "Tags " + "; ".join(parts), now)
    client.tags, client.updated_at = tags, now
    return True


async def bulk_update(
    session: AsyncSession, agent_id: uuid.UUID, data: BulkUpdate, ns: Namespace, *, now: datetime
) -> tuple[BulkResult, list[StageChange]]:
    clients, missing = await _locked(session, agent_id, data.ids)
    changes: list[StageChange] = []
    changed = 0
    for client in clients:
        touched = _retag(client, data.add_tags, data.remove_tags, now)
        change = change_stage(client, data.stage, now) if data.stage is not None else None
        if change is not None:
            changes.append(change)
        what = [*(["tags"] if touched else []), *(["stage"] if change else [])]
        announce_client_update(session, ns, client, what, now)
        changed += bool(touched or change)
    await session.flush()
    return BulkResult(changed=changed, not_found=missing), changes


async def bulk_delete(
    session: AsyncSession, agent_id: uuid.UUID, ids: Sequence[uuid.UUID], *, now: datetime
) -> BulkResult:
    clients, missing = await _locked(session, agent_id, ids)
    for client in clients:
        soft_delete(client, now)
    await session.flush()
    return BulkResult(changed=len(clients), not_found=missing)
