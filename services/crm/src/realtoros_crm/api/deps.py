"""The API's dependencies: ``SessionDep``, ``CurrentAgent`` (``CurrentAgentId``) and the
process state."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from realtoros_crm.agents.models import Agent
from realtoros_crm.agents.security import read_token
from realtoros_crm.agents.service import get_agent
from realtoros_crm.agents.tokens_models import RefreshToken
from realtoros_crm.state import CrmState


async def get_state(request: Request) -> CrmState:
    # async, though it awaits nothing: FastAPI runs a plain ``def`` dependency in its
    # thread pool, a thread hand-off on every request of every route.
    state: CrmState = request.app.state.crm
    return state


StateDep = Annotated[CrmState, Depends(get_state)]


async def get_session(state: StateDep) -> AsyncIterator[AsyncSession]:
    """A session for the request. The route handler commits; anything else rolls back."""
    async with state.sessions() as session:
        yield session


SessionDep = Annotated[AsyncSession, Depends(get_session)]

_bearer = HTTPBearer(auto_error=False, description="The access token from POST /auth/login.")


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(
        status.HTTP_401_UNAUTHORIZED, detail=detail, headers={"WWW-Authenticate": "Bearer"}
    )


async def get_current_agent(
    state: StateDep,
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Agent:
    if credentials is None:
        raise _unauthorized("sign in first: send 'Authorization: Bearer <access_token>'")
    agent_id = await _live_token_agent(state, session, credentials.credentials)
    agent = await get_agent(session, agent_id) if agent_id is not None else None
    if agent is None:
        raise _unauthorized("the access token is invalid or has expired")
    return agent


CurrentAgent = Annotated[Agent, Depends(get_current_agent)]


async def get_current_agent_id(
    state: StateDep,
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> uuid.UUID:
    """``get_current_agent`` for the routes that need only the id: the same checks, without
    loading the agent (the hot read routes, e.g. the client list)."""
    if credentials is None:
        raise _unauthorized("sign in first: send 'Authorization: Bearer <access_token>'")
    agent_id = await _live_token_agent(state, session, credentials.credentials)
    if agent_id is None:
        raise _unauthorized("the access token is invalid or has expired")
    return agent_id


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


async def _live_token_agent(state: CrmState, session: AsyncSession, token: str) -> uuid.UUID | None:
    """The agent of a valid access token whose session has not been logged out, or None."""
    claims = read_token(token, key=state.settings.jwt_secret.get_secret_value())
    if claims is None:
        return None
    agent_id, session_id = claims
    found = await session.scalar(_LIVE_SESSION, {"agent_id": agent_id, "session_id": session_id})
    return agent_id if found is not None else None


CurrentAgentId = Annotated[uuid.UUID, Depends(get_current_agent_id)]
