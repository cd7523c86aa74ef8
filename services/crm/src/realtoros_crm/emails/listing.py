"""The agent's emails, newest first, with filters (the web app's email list)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from realtoros_crm.emails.models import Email


@dataclass
class EmailFilter:
    statuses: list[str] = field(default_factory=list)
    client_id: uuid.UUID | None = None
    q: str | None = None
    """In the subject or the recipient's address."""


async def list_emails(
    session: AsyncSession,
    agent_id: uuid.UUID,
    where: EmailFilter,
    *,
    limit: int,
    offset: int = 0,
) -> Sequence[Email]:
    statement = select(Email).where(Email.agent_id == agent_id)
    if where.statuses:
        statement = statement.where(Email.status.in_(where.statuses))
    if where.client_id is not None:
        statement = statement.where(Email.client_id == where.client_id)
    if where.q and where.q.strip():
        pattern = "%" + where.q.strip().replace("\\", "\\\\").replace("%", "\\%") + "%"
        statement = statement.where(
            Email.subject.ilike(pattern, escape="\\") | Email.to_email.ilike(pattern, escape="\\")
        )
    ordering = (Email.created_at.desc(), Email.id.desc())
    statement = statement.order_by(*ordering).limit(limit).offset(offset)
    return (await session.scalars(statement)).all()


async def get_email(
    session: AsyncSession, agent_id: uuid.UUID, email_id: uuid.UUID
) -> Email | None:
    statement = select(Email).where(Email.id == email_id, Email.agent_id == agent_id)
    return (await session.scalars(statement)).one_or_none()
