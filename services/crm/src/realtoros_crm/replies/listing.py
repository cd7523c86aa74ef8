"""Reading an agent's replies: the unanswered ones (the dashboard lists them first), a
client's, and marking one answered. Flushes only."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from realtoros_crm.replies.models import Reply


async def list_replies(
    session: AsyncSession,
    agent_id: uuid.UUID,
    *,
    unanswered: bool = False,
    client_id: uuid.UUID | None = None,
    limit: int = 50,
) -> Sequence[Reply]:
    """Newest first; ``unanswered``: a person's replies the agent has not answered yet."""
    statement = select(Reply).where(Reply.agent_id == agent_id)
    if unanswered:
        statement = statement.where(Reply.kind == "reply", Reply.answered_at.is_(None))
    if client_id is not None:
        statement = statement.where(Reply.client_id == client_id)
    statement = statement.order_by(Reply.received_at.desc(), Reply.id).limit(limit)
    return (await session.scalars(statement)).all()


async def mark_answered(
    session: AsyncSession, agent_id: uuid.UUID, reply_id: uuid.UUID, now: datetime
) -> Reply | None:
    """None when the agent has no such reply (another agent's is not found either)."""
    statement = select(Reply).where(Reply.id == reply_id, Reply.agent_id == agent_id)
    reply = (await session.scalars(statement.with_for_update())).one_or_none()
    if reply is not None and reply.answered_at is None:
        reply.answered_at = now
        await session.flush()
    return reply
