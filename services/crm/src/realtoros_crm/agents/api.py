"""Sign-up, sign-in and the signed-in agent."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, HTTPException, status

from realtoros_crm.agents.schemas import AgentCreate, AgentPublic, LoginRequest, TokenPublic
from realtoros_crm.agents.security import issue_token
from realtoros_crm.agents.service import EmailTaken, authenticate, register
from realtoros_crm.api.deps import CurrentAgent, SessionDep, StateDep

router = APIRouter(tags=["agents"])


@router.post("/auth/register", status_code=status.HTTP_201_CREATED)
async def register_agent(data: AgentCreate, session: SessionDep) -> AgentPublic:
    """Create an agent account."""
    try:
        agent = await register(session, data)
    except EmailTaken:
        raise HTTPException(
            status.HTTP_409_CONFLICT, "an agent with this email address already exists"
        ) from None
    await session.commit()
    return AgentPublic.model_validate(agent)


@router.post("/auth/login")
async def log_in(data: LoginRequest, session: SessionDep, state: StateDep) -> TokenPublic:
    """Exchange an email address and password for a bearer access token."""
    agent = await authenticate(session, data.email, data.password)
    if agent is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "wrong email address or password")
    ttl = timedelta(minutes=state.settings.jwt_ttl_minutes)
    key = state.settings.jwt_secret.get_secret_value()
    token = issue_token(agent.id, key=key, now=state.clock(), ttl=ttl)
    return TokenPublic(access_token=token, expires_in=int(ttl.total_seconds()))


@router.get("/me")
async def read_me(agent: CurrentAgent) -> AgentPublic:
    """The signed-in agent."""
    return AgentPublic.model_validate(agent)
