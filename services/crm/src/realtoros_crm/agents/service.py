"""Registering, authenticating and updating agents. Flushes only: the entrypoint commits."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from realtoros_crm.agents.google import GoogleIdentity
from realtoros_crm.agents.models import Agent
from realtoros_crm.agents.repository import find_agent_by_email, find_agent_by_google
from realtoros_crm.agents.repository import get_agent as get_agent
from realtoros_crm.agents.schemas import AgentCreate, ProfileUpdate
from realtoros_crm.agents.security import hash_password, verify_password


class EmailTaken(Exception):
    """An agent with this email address already exists."""


class InvalidProfile(Exception):
    """The profile change would leave the agent's settings inconsistent."""


async def _flush_unique(session: AsyncSession, email: str) -> None:
    try:
        await session.flush()
    except IntegrityError:  # the same address concurrently: the unique index decides
        raise EmailTaken(email) from None


async def register(session: AsyncSession, data: AgentCreate) -> Agent:
    if await find_agent_by_email(session, data.email) is not None:
        raise EmailTaken(data.email)
    agent = Agent(
        **data.model_dump(exclude={"email", "password"}),
        email=data.email.lower(),
        password_hash=await hash_password(data.password),
    )
    session.add(agent)
    await _flush_unique(session, data.email)
    await session.refresh(agent)
    return agent


async def authenticate(session: AsyncSession, email: str, password: str) -> Agent | None:
    """The agent, when the password is theirs. Unknown address, wrong password and an
    account without a password (Google only) all give None, in the same time."""
    agent = await find_agent_by_email(session, email)
    if not await verify_password(agent.password_hash if agent else None, password):
        return None
    return agent


async def sign_in_with_google(session: AsyncSession, identity: GoogleIdentity) -> Agent:
    """The agent linked to this Google account; else the agent with its verified email
    address, now linked (the password, if any, stays valid); else a new agent."""
    agent = await find_agent_by_google(session, identity.sub)
    if agent is not None:
        return agent
    agent = await find_agent_by_email(session, identity.email)
    if agent is not None:
        agent.google_sub = identity.sub  # only the link: password_hash is left alone
        await session.flush()
        return agent
    agent = Agent(
        email=identity.email,
        password_hash=None,
        google_sub=identity.sub,
        name=(identity.name or identity.email.split("@")[0])[:200],
    )
    session.add(agent)
    await _flush_unique(session, identity.email)
    await session.refresh(agent)
    return agent


async def update_profile(
    session: AsyncSession, agent: Agent, data: ProfileUpdate, now: datetime
) -> Agent:
    changes = data.model_dump(exclude_unset=True)
    if "email" in changes:
        email = changes.pop("email").lower()
        if email != agent.email:
            other = await find_agent_by_email(session, email)
            if other is not None and other.id != agent.id:
                raise EmailTaken(email)
            agent.email = email
    for name, value in changes.items():
        setattr(agent, name, value)
    if agent.sending_start >= agent.sending_end:
        raise InvalidProfile("sending_start must be before sending_end")
    agent.updated_at = now
    await _flush_unique(session, agent.email)
    await session.refresh(agent)
    return agent
