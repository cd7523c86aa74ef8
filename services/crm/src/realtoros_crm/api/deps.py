"""The API's dependencies: ``SessionDep``, ``CurrentAgent`` (``CurrentAgentId``) and the
process state."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncSession

from realtoros_crm.agents.models import Agent
from realtoros_crm.agents.repository import get_agent, session_is_live
from realtoros_crm.agents.security import read_token
from realtoros_crm.apikeys.models import ApiKey
from realtoros_crm.apikeys.scopes import required_scope
from realtoros_crm.apikeys.service import TOUCH_EVERY, is_api_key, key_for_secret, touch
from realtoros_crm.db import discarded
from realtoros_crm.state import CrmState


async def get_state(request: Request) -> CrmState:
    # async, though it awaits nothing: FastAPI runs a plain ``def`` dependency in its
    # thread pool, a thread hand-off on every request of every route.
    state: CrmState = request.app.state.crm
    return state


StateDep = Annotated[CrmState, Depends(get_state)]


async def get_session(state: StateDep) -> AsyncIterator[AsyncSession]:
    """The request's unit of work: committed after the handler returns (and before the
    response is sent: scope "function"), rolled back if it raised or called ``discard``.
    Handlers, services and repositories never commit."""
    async with state.sessions() as session:
        yield session
        if discarded(session):
            await session.rollback()
        else:
            await session.commit()


SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]

_bearer = HTTPBearer(
    auto_error=False,
    description="The access token from POST /auth/login, or an API key (rtk_…).",
)
_key_header = APIKeyHeader(
    name="X-Api-Key", auto_error=False, description="An API key (rtk_…), instead of a bearer."
)
URL_KEY_SCOPES = {"leads:write"}
"""A key in a URL (``?key=``: a plain HTML form cannot send headers) ends up in page
sources and logs: only a key that can do nothing but post leads is accepted there."""


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(
        status.HTTP_401_UNAUTHORIZED, detail=detail, headers={"WWW-Authenticate": "Bearer"}
    )


def _forbidden(detail: str) -> HTTPException:
    return HTTPException(status.HTTP_403_FORBIDDEN, detail=detail)


def _presented(
    request: Request, credentials: HTTPAuthorizationCredentials | None, header_key: str | None
) -> tuple[str, bool]:
    """The token or key the request carries, and whether it came in the URL."""
    if credentials is not None:
        return credentials.credentials, False
    if header_key:
        return header_key, False
    in_url = request.query_params.get("key")
    if in_url:
        return in_url, True
    raise _unauthorized("sign in first: send 'Authorization: Bearer <access_token or API key>'")


async def _key_agent_id(
    request: Request, state: CrmState, session: AsyncSession, secret: str, in_url: bool
) -> uuid.UUID:
    key = await key_for_secret(session, secret)
    if key is None:
        raise _unauthorized("the API key is unknown or has been revoked")
    route = request.scope.get("route")
    needed = required_scope(request.method, getattr(route, "path", request.url.path))
    if needed is None:
        raise _forbidden("an API key cannot be used here: sign in as the agent")
    if needed not in key.scopes:
        raise _forbidden(f"this API key lacks the scope {needed!r}")
    if in_url and not set(key.scopes) <= URL_KEY_SCOPES:
        raise _forbidden("only a key whose sole scope is 'leads:write' may be sent in the URL")
    request.state.api_key = key
    now = state.clock()
    if key.last_used_at is None or now - key.last_used_at >= TOUCH_EVERY:
        await touch(state.sessions, key.id, now)
    return key.agent_id


async def _authenticated_id(
    request: Request,
    state: CrmState,
    session: AsyncSession,
    credentials: HTTPAuthorizationCredentials | None,
    header_key: str | None,
) -> uuid.UUID | None:
    """The agent the request acts for: an access token's (None when it is invalid), or an
    API key's (401 unknown or revoked, 403 without the route's scope)."""
    token, in_url = _presented(request, credentials, header_key)
    if is_api_key(token):
        return await _key_agent_id(request, state, session, token, in_url)
    request.state.api_key = None
    return await _live_token_agent(state, session, token)


Bearer = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
HeaderKey = Annotated[str | None, Depends(_key_header)]


async def get_current_agent(
    request: Request,
    state: StateDep,
    session: SessionDep,
    credentials: Bearer,
    header_key: HeaderKey,
) -> Agent:
    agent_id = await _authenticated_id(request, state, session, credentials, header_key)
    agent = await get_agent(session, agent_id) if agent_id is not None else None
    if agent is None:
        raise _unauthorized("the access token is invalid or has expired")
    return agent


CurrentAgent = Annotated[Agent, Depends(get_current_agent)]


async def get_current_agent_id(
    request: Request,
    state: StateDep,
    session: SessionDep,
    credentials: Bearer,
    header_key: HeaderKey,
) -> uuid.UUID:
    """``get_current_agent`` for the routes that need only the id: the same checks, without
    loading the agent (the hot read routes, e.g. the client list)."""
    agent_id = await _authenticated_id(request, state, session, credentials, header_key)
    if agent_id is None:
        raise _unauthorized("the access token is invalid or has expired")
    return agent_id


async def _live_token_agent(state: CrmState, session: AsyncSession, token: str) -> uuid.UUID | None:
    """The agent of a valid access token whose session has not been logged out, or None."""
    claims = read_token(token, key=state.settings.jwt_secret.get_secret_value())
    if claims is None:
        return None
    agent_id, session_id = claims
    return agent_id if await session_is_live(session, agent_id, session_id) else None


CurrentAgentId = Annotated[uuid.UUID, Depends(get_current_agent_id)]


def api_key_of(request: Request) -> ApiKey | None:
    """The API key the request was authenticated with (None: the agent's own token)."""
    key: ApiKey | None = getattr(request.state, "api_key", None)
    return key
