"""Every statement on ``agents``, ``refresh_tokens`` and ``login_failures``. Flushes only:
the entrypoint commits."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import bindparam, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from realtoros_crm.agents.models import Agent
from realtoros_crm.agents.tokens_models import LoginFailure, RefreshToken


async def get_agent(session: AsyncSession, agent_id: uuid.UUID) -> Agent | None:
    return await session.get(Agent, agent_id)


async def find_agent_by_email(session: AsyncSession, email: str) -> Agent | None:
    statement = select(Agent).where(func.lower(Agent.email) == email.strip().lower())
    return (await session.scalars(statement)).one_or_none()


async def find_agent_by_google(session: AsyncSession, google_sub: str) -> Agent | None:
    statement = select(Agent).where(Agent.google_sub == google_sub)
    return (await session.scalars(statement)).one_or_none()


async def lock_refresh_token(session: AsyncSession, token_hash: str) -> RefreshToken | None:
    statement = select(RefreshToken).where(RefreshToken.token_hash == token_hash).with_for_update()
    return (await session.scalars(statement)).one_or_none()


async def live_refresh_token(
    session: AsyncSession, token_hash: str, now: datetime
) -> RefreshToken | None:
    """The refresh token if it is neither revoked nor expired."""
    statement = select(RefreshToken).where(
        RefreshToken.token_hash == token_hash,
        RefreshToken.revoked_at.is_(None),
        RefreshToken.expires_at > now,
    )
    return (await session.scalars(statement)).one_or_none()


async def revoke_token_family(session: AsyncSession, family_id: uuid.UUID, now: datetime) -> None:
    await session.execute(
        update(RefreshToken)
        .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )


# The agent exists and the token's sign-in session is live (not logged out): one query.
_LIVE_SESSION = (
    select(RefreshToken.agent_id)
    .join(Agent, Agent.id == RefreshToken.agent_id)
    .where(
        RefreshToken.agent_id == bindparam("agent_id"),
        RefreshToken.family_id == bindparam("session_id"),
        RefreshToken.revoked_at.is_(None),
    )
    .limit(1)
)


async def session_is_live(
    session: AsyncSession, agent_id: uuid.UUID, session_id: uuid.UUID
) -> bool:
    """Whether the agent exists and the sign-in session (token family) is not logged out."""
    found = await session.scalar(_LIVE_SESSION, {"agent_id": agent_id, "session_id": session_id})
    return found is not None


async def count_failures(
    session: AsyncSession, key: str, since: datetime
) -> tuple[int, datetime | None]:
    """How many sign-in failures ``key`` has after ``since``, and the oldest's time."""
    statement = select(func.count(), func.min(LoginFailure.failed_at)).where(
        LoginFailure.key == key, LoginFailure.failed_at > since
    )
    count, oldest = (await session.execute(statement)).one()
    return count, oldest


async def delete_failures(
    session: AsyncSession, keys: Sequence[str], *, until: datetime | None = None
) -> None:
    """Forget the failures of ``keys`` (only those at ``until`` or before, if given)."""
    statement = delete(LoginFailure).where(LoginFailure.key.in_(keys))
    if until is not None:
        statement = statement.where(LoginFailure.failed_at <= until)
    await session.execute(statement)


async def add_failures(session: AsyncSession, keys: Sequence[str], now: datetime) -> None:
    session.add_all([LoginFailure(key=key, failed_at=now) for key in keys])
    await session.flush()
