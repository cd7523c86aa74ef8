"""Access tokens (short-lived JWT) and refresh tokens (opaque, single use, stored hashed,
revocable). Rotation: each refresh replaces the token with the next of its family;
presenting a token that was already replaced revokes the family, since someone else holds
a copy. Flushes only: the entrypoint commits."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from realtoros_crm.agents.repository import lock_refresh_token, revoke_token_family
from realtoros_crm.agents.schemas import TokenPublic
from realtoros_crm.agents.security import issue_token, new_refresh_token, token_digest
from realtoros_crm.agents.tokens_models import RefreshToken
from realtoros_crm.db import add_row


@dataclass(frozen=True)
class TokenPolicy:
    key: str
    access_ttl: timedelta
    refresh_ttl: timedelta


async def start_session(
    session: AsyncSession,
    agent_id: uuid.UUID,
    policy: TokenPolicy,
    now: datetime,
    family_id: uuid.UUID | None = None,
) -> tuple[TokenPublic, RefreshToken]:
    raw = new_refresh_token()
    row = RefreshToken(
        id=uuid.uuid4(),
        agent_id=agent_id,
        family_id=family_id or uuid.uuid4(),
        token_hash=token_digest(raw),
        created_at=now,
        expires_at=now + policy.refresh_ttl,
    )
    await add_row(session, row)
    tokens = TokenPublic(
        access_token=issue_token(
            agent_id, key=policy.key, now=now, ttl=policy.access_ttl, session_id=row.family_id
        ),
        expires_in=int(policy.access_ttl.total_seconds()),
        refresh_token=raw,
        refresh_expires_in=int(policy.refresh_ttl.total_seconds()),
    )
    return tokens, row


async def _locked(session: AsyncSession, raw: str) -> RefreshToken | None:
    return await lock_refresh_token(session, token_digest(raw))


async def rotate(
    session: AsyncSession, raw: str, policy: TokenPolicy, now: datetime
) -> TokenPublic | None:
    """New tokens for a valid refresh token (which is spent), or None."""
    row = await _locked(session, raw)
    if row is None or row.expires_at <= now:
        return None
    if row.revoked_at is not None:
        if row.replaced_by is not None:  # reuse of a rotated token: assume theft
            await revoke_token_family(session, row.family_id, now)
        return None
    tokens, successor = await start_session(session, row.agent_id, policy, now, row.family_id)
    row.revoked_at, row.replaced_by = now, successor.id
    await session.flush()
    return tokens


async def revoke(session: AsyncSession, raw: str, agent_id: uuid.UUID, now: datetime) -> None:
    """Log out: the token's whole family ends (any copies with it), and with it every
    access token issued in that session (checked per request). A token that is not the
    agent's: nothing (and nothing said)."""
    row = await _locked(session, raw)
    if row is not None and row.agent_id == agent_id:
        await revoke_token_family(session, row.family_id, now)
