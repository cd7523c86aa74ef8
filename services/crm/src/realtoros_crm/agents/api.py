"""Sign-up, sign-in (password or Google), sessions and the signed-in agent's profile. The
rules of signing up and in are in ``signing_in.py`` (the web pages follow them too)."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request, Response, status

from realtoros_crm.agents import signing_in
from realtoros_crm.agents.schemas import (
    AgentCreate,
    AgentPublic,
    GoogleSignIn,
    LoginRequest,
    ProfileUpdate,
    RefreshRequest,
    TokenPublic,
)
from realtoros_crm.agents.service import EmailTaken, InvalidProfile, update_profile
from realtoros_crm.agents.sessions import revoke, rotate
from realtoros_crm.agents.signing_in import Refused, token_policy
from realtoros_crm.api.deps import CurrentAgent, SessionDep, StateDep
from realtoros_crm.api.problems import problem_responses

router = APIRouter(tags=["agents"])


async def _refused(session: SessionDep, exc: Refused) -> HTTPException:
    if exc.recorded:
        await session.commit()  # the failed attempt counts though the request fails
    return HTTPException(exc.status, exc.detail, headers=exc.headers or None)


@router.post(
    "/auth/register",
    status_code=status.HTTP_201_CREATED,
    responses=problem_responses(409, 429),
)
async def register_agent(
    data: AgentCreate, request: Request, session: SessionDep, state: StateDep
) -> AgentPublic:
    """Create an agent account (then sign in with POST /auth/login)."""
    ip = signing_in.client_ip(request)
    try:
        agent = await signing_in.sign_up(session, state.settings, data, ip, state.clock())
    except Refused as exc:
        raise await _refused(session, exc) from None
    return AgentPublic.of(agent)


@router.post("/auth/login", responses=problem_responses(401, 429))
async def log_in(
    data: LoginRequest, request: Request, response: Response, session: SessionDep, state: StateDep
) -> TokenPublic:
    """Exchange an email address and password for an access and a refresh token (and a
    device cookie: failed attempts elsewhere never block a device that signed in before)."""
    try:
        return await signing_in.log_in(
            session, state.settings, data, request, response, state.clock()
        )
    except Refused as exc:
        raise await _refused(session, exc) from None


@router.post("/auth/google", responses=problem_responses(401, 404, 503))
async def sign_in_google(data: GoogleSignIn, session: SessionDep, state: StateDep) -> TokenPublic:
    """Sign in with a Google ID token; links the account with the same verified email."""
    try:
        return await signing_in.sign_in_google(
            session, state.settings, data.id_token, state.clock()
        )
    except Refused as exc:
        raise await _refused(session, exc) from None


@router.post("/auth/refresh", responses=problem_responses(401))
async def refresh_session(
    data: RefreshRequest, session: SessionDep, state: StateDep
) -> TokenPublic:
    """Exchange a refresh token (single use) for a new access and refresh token."""
    tokens = await rotate(session, data.refresh_token, token_policy(state.settings), state.clock())
    if tokens is None:
        await session.commit()  # kept though the answer is 401: a reuse revoked the family
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED, "the refresh token is invalid, expired or revoked"
        )
    return tokens


@router.post("/auth/logout", status_code=status.HTTP_204_NO_CONTENT)
async def log_out(
    data: RefreshRequest, agent: CurrentAgent, session: SessionDep, state: StateDep
) -> None:
    """Revoke the refresh token (and its rotations); the access token expires on its own."""
    await revoke(session, data.refresh_token, agent.id, state.clock())


@router.get("/me")
async def read_me(agent: CurrentAgent) -> AgentPublic:
    """The signed-in agent's profile."""
    return AgentPublic.of(agent)


@router.patch("/me", responses=problem_responses(409))
async def update_me(
    data: ProfileUpdate, agent: CurrentAgent, session: SessionDep, state: StateDep
) -> AgentPublic:
    """Change the signed-in agent's profile, sending window and send mode."""
    try:
        updated = await update_profile(session, agent, data, state.clock())
    except EmailTaken:
        raise HTTPException(
            status.HTTP_409_CONFLICT, "another account uses this email address"
        ) from None
    except InvalidProfile as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, str(exc)) from None
    return AgentPublic.of(updated)
