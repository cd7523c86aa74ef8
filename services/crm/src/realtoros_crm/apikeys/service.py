"""Creating, listing, revoking and recognising API keys. Flushes only: the entrypoint commits
(except ``touch``, which records the last use in a transaction of its own)."""

from __future__ import annotations

import secrets
import uuid
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from realtoros_crm.agents.security import token_digest
from realtoros_crm.apikeys.models import ApiKey
from realtoros_crm.apikeys.repository import get_key, live_key_by_hash, touch_key
from realtoros_crm.apikeys.repository import list_keys as list_keys
from realtoros_crm.apikeys.schemas import ApiKeyCreate
from realtoros_crm.db import Sessions, add_row
from realtoros_crm.plans.service import get_plan

KEY_PREFIX = "rtk_"
SHOWN_PREFIX = 12
TOUCH_EVERY = timedelta(minutes=1)
"""``last_used_at`` is written at most this often per key: not a write per request."""


class UnknownPlan(ValueError):
    """The lead plan is not one of the agent's plans."""


def is_api_key(token: str) -> bool:
    return token.startswith(KEY_PREFIX)


async def create_key(
    session: AsyncSession, agent_id: uuid.UUID, data: ApiKeyCreate, now: datetime
) -> tuple[ApiKey, str]:
    """The new key and its secret (the only time the secret exists outside the caller)."""
    if (
        data.lead_plan_id is not None
        and await get_plan(session, agent_id, data.lead_plan_id) is None
    ):
        raise UnknownPlan(f"plan {data.lead_plan_id} not found")
    secret = KEY_PREFIX + secrets.token_urlsafe(32)
    key = ApiKey(
        id=uuid.uuid4(),
        agent_id=agent_id,
        name=data.name,
        prefix=secret[:SHOWN_PREFIX],
        key_hash=token_digest(secret),
        scopes=list(data.scopes),
        lead_plan_id=data.lead_plan_id,
        created_at=now,
    )
    return await add_row(session, key), secret


async def revoke_key(
    session: AsyncSession, agent_id: uuid.UUID, key_id: uuid.UUID, now: datetime
) -> ApiKey | None:
    """Revoke the agent's key (already revoked: unchanged); None when it is not theirs."""
    key = await get_key(session, agent_id, key_id)
    if key is not None and key.revoked_at is None:
        key.revoked_at = now
        await session.flush()
    return key


async def key_for_secret(session: AsyncSession, secret: str) -> ApiKey | None:
    """The live key with this secret, or None (unknown or revoked)."""
    return await live_key_by_hash(session, token_digest(secret))


async def touch(sessions: Sessions, key_id: uuid.UUID, now: datetime) -> None:
    async with sessions() as session, session.begin():
        await touch_key(session, key_id, now, TOUCH_EVERY)
