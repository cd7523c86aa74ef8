"""Every statement on ``api_keys``. Flushes only (``touch_key`` runs in the caller's own
short transaction)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from realtoros_crm.apikeys.models import ApiKey
from realtoros_crm.db import owned_row, owned_rows


async def list_keys(session: AsyncSession, agent_id: uuid.UUID) -> Sequence[ApiKey]:
    """Live keys first, newest first."""
    order = (ApiKey.revoked_at.is_not(None), ApiKey.created_at.desc())
    return await owned_rows(session, ApiKey, agent_id, *order)


async def get_key(session: AsyncSession, agent_id: uuid.UUID, key_id: uuid.UUID) -> ApiKey | None:
    return await owned_row(session, ApiKey, agent_id, key_id)


async def live_key_by_hash(session: AsyncSession, key_hash: str) -> ApiKey | None:
    return await session.scalar(
        select(ApiKey).where(ApiKey.key_hash == key_hash, ApiKey.revoked_at.is_(None))
    )


async def touch_key(
    session: AsyncSession, key_id: uuid.UUID, now: datetime, every: timedelta
) -> None:
    """Record the key's use, unless it was recorded less than ``every`` ago."""
    await session.execute(
        update(ApiKey)
        .where(
            ApiKey.id == key_id,
            or_(ApiKey.last_used_at.is_(None), ApiKey.last_used_at < now - every),
        )
        .values(last_used_at=now)
    )
