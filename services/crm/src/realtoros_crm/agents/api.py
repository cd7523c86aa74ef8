"""Sign-up, sign-in (password or Google), sessions and the signed-in agent's profile.

Registration answers 409 for an address that has an account. Hiding it would not hide it:
the account is usable at once (there is no confirmation email to agents), so whoever
registers an address and then signs in with the password they chose learns the same thing.
The honest defence is the one login has: attempts are counted per client address (every
409 is a failure), and past the limit the answer is 429. Login itself never tells an
unknown address from a wrong password: same status, same message, same time.
"""

from __future__ import annotations

import functools
from datetime import timedelta

from fastapi import APIRouter, HTTPException, Request, Response, status

from realtoros_crm.agents.devices import (
    device_key,
    known_device,
    remember_device,
    secure_cookies,
)
from realtoros_crm.agents.google import GoogleKeysUnavailable, GoogleTokenInvalid, GoogleVerifier
from realtoros_crm.agents.schemas import (
    AgentCreate,
    AgentPublic,
    GoogleSignIn,
    LoginRequest,
    ProfileUpdate,
    RefreshRequest,
    TokenPublic,
)
from realtoros_crm.agents.service import (
    EmailTaken,
    InvalidProfile,
    authenticate,
    register,
    sign_in_with_google,
    update_profile,
)
from realtoros_crm.agents.sessions import TokenPolicy, revoke, rotate, start_session
from realtoros_crm.agents.throttle import Attempt, Throttle
from realtoros_crm.api.deps import CurrentAgent, SessionDep, StateDep
from realtoros_crm.api.problems import problem_responses
from realtoros_crm.state import CrmState

router = APIRouter(tags=["agents"])

WRONG_CREDENTIALS = "wrong email address or password"


def token_policy(state: CrmState) -> TokenPolicy:
    settings = state.settings
    return TokenPolicy(
        key=settings.jwt_secret.get_secret_value(),
        access_ttl=timedelta(minutes=settings.jwt_ttl_minutes),
        refresh_ttl=timedelta(days=settings.refresh_ttl_days),
    )


def _throttle(state: CrmState) -> Throttle:
    settings = state.settings
    return Throttle(
        window=timedelta(seconds=settings.login_window_seconds),
        max_per_pair=settings.login_max_failures,
        max_per_ip=settings.login_max_failures_per_ip,
        max_per_account=settings.login_max_failures_per_account,
    )


def _client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _too_many(retry_after: int) -> HTTPException:
    return HTTPException(
        status.HTTP_429_TOO_MANY_REQUESTS,
        f"too many failed attempts: try again in {retry_after} seconds",
        headers={"Retry-After": str(retry_after)},
    )


@router.post(
    "/auth/register",
    status_code=status.HTTP_201_CREATED,
    responses=problem_responses(409, 429),
)
async def register_agent(
    data: AgentCreate, request: Request, session: SessionDep, state: StateDep
) -> AgentPublic:
    """Create an agent account (then sign in with POST /auth/login)."""
    throttle, attempt, now = _throttle(state), Attempt(_client_ip(request)), state.clock()
    if (wait := await throttle.retry_after(session, attempt, now)) is not None:
        raise _too_many(wait)
    try:
        agent = await register(session, data)
    except EmailTaken:
        await session.rollback()
        await throttle.record_failure(session, attempt, now)
        await session.commit()
        raise HTTPException(
            status.HTTP_409_CONFLICT, "an agent with this email address already exists"
        ) from None
    await session.commit()
    return AgentPublic.of(agent)


@router.post("/auth/login", responses=problem_responses(401, 429))
async def log_in(
    data: LoginRequest, request: Request, response: Response, session: SessionDep, state: StateDep
) -> TokenPublic:
    """Exchange an email address and password for an access and a refresh token (and a
    device cookie: failed attempts elsewhere never block a device that signed in before)."""
    throttle, now = _throttle(state), state.clock()
    key = device_key(state.settings.jwt_secret.get_secret_value())
    device = known_device(request, key, data.email)
    attempt = Attempt(_client_ip(request), data.email, device)
    if (wait := await throttle.retry_after(session, attempt, now)) is not None:
        raise _too_many(wait)
    agent = await authenticate(session, data.email, data.password)
    if agent is None:
        await throttle.record_failure(session, attempt, now)
        await session.commit()
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, WRONG_CREDENTIALS)
    await throttle.clear(session, attempt)
    tokens, _ = await start_session(session, agent.id, token_policy(state), now)
    await session.commit()
    if device is None:
        secure = secure_cookies(request, state.settings.web_secure_cookies)
        remember_device(response, key, data.email, secure=secure)
    return tokens


@functools.lru_cache(maxsize=8)
def _verifier(client_id: str, jwks_url: str, cache_seconds: int, skew: int) -> GoogleVerifier:
    # One per configuration and process, so Google's keys stay cached between requests.
    return GoogleVerifier(
        client_id=client_id, jwks_url=jwks_url, cache_seconds=cache_seconds, skew_seconds=skew
    )


def _google(state: CrmState) -> GoogleVerifier:
    settings = state.settings
    if settings.google_client_id is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "Google sign-in is not enabled")
    return _verifier(
        settings.google_client_id,
        str(settings.google_jwks_url),
        settings.google_jwks_cache_seconds,
        settings.google_clock_skew_seconds,
    )


@router.post("/auth/google", responses=problem_responses(401, 404, 503))
async def sign_in_google(data: GoogleSignIn, session: SessionDep, state: StateDep) -> TokenPublic:
    """Sign in with a Google ID token; links the account with the same verified email."""
    verifier = _google(state)
    try:
        identity = await verifier.verify(data.id_token)
    except GoogleTokenInvalid as exc:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, str(exc)) from None
    except GoogleKeysUnavailable:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            "Google's signing keys cannot be fetched right now: try again shortly",
            headers={"Retry-After": "30"},
        ) from None
    agent = await sign_in_with_google(session, identity)
    tokens, _ = await start_session(session, agent.id, token_policy(state), state.clock())
    await session.commit()
    return tokens


@router.post("/auth/refresh", responses=problem_responses(401))
async def refresh_session(
    data: RefreshRequest, session: SessionDep, state: StateDep
) -> TokenPublic:
    """Exchange a refresh token (single use) for a new access and refresh token."""
    tokens = await rotate(session, data.refresh_token, token_policy(state), state.clock())
    await session.commit()  # also when None: a reuse revoked the family
    if tokens is None:
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
    await session.commit()


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
    await session.commit()
    return AgentPublic.of(updated)
