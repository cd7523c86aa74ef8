"""Registering and authenticating agents. Flushes only: the caller commits."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from realtoros_crm.agents.models import Agent
from realtoros_crm.agents.schemas import AgentCreate
from realtoros_crm.agents.security import hash_password, verify_password


class EmailTaken(Exception):
    """An agent with this email address already exists."""


async def find_by_email(session: AsyncSession, email: str) -> Agent | None:
    statement = select(Agent).where(func.lower(Agent.email) == email.lower())
    return (await session.scalars(statement)).one_or_none()


async def register(session: AsyncSession, data: AgentCreate) -> Agent:
    if await find_by_email(session, data.email) is not None:
        raise EmailTaken(data.email)
    agent = Agent(
        **data.model_dump(exclude={"email", "password"}),
        email=data.email.lower(),
        password_hash=await hash_password(data.password),
    )
    session.add(agent)
    try:
        await session.flush()
    except IntegrityError:  # registered concurrently: the unique index decides
        raise EmailTaken(data.email) from None
    await session.refresh(agent)
    return agent


async def authenticate(session: AsyncSession, email: str, password: str) -> Agent | None:
    agent = await find_by_email(session, email)
    if not await verify_password(agent.password_hash if agent else None, password):
        return None
    return agent


async def get_agent(session: AsyncSession, agent_id: uuid.UUID) -> Agent | None:
    return await session.get(Agent, agent_id)
