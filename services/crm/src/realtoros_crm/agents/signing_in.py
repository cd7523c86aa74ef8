"""Signing up and signing in (password or Google): the rules both the API (``agents/api.py``)
and the web pages (``web/auth.py``) follow — the same throttle, the same token policy, the
same refusals. Flushes only: the entrypoint commits.

Registration refuses an address that has an account. Hiding it would not hide it: the
account is usable at once (there is no confirmation email to agents), so whoever registers
an address and then signs in with the password they chose learns the same thing. The
honest defence is the one login has: attempts are counted per client address (every
refusal is a failure), and past the limit the answer is "too many". Login itself never
tells an unknown address from a wrong password: same refusal, same message, same time.
"""

from __future__ import annotations

import functools
from datetime import datetime, timedelta

from fastapi import Request, Response
from sqlalchemy.ext.asyncio import AsyncSession

from realtoros_crm.agents.devices import device_key, known_device, remember_device, secure_cookies
from realtoros_crm.agents.google import GoogleKeysUnavailable, GoogleTokenInvalid, GoogleVerifier
from realtoros_crm.agents.models import Agent
from realtoros_crm.agents.schemas import AgentCreate, LoginRequest, TokenPublic
from realtoros_crm.agents.service import EmailTaken, authenticate, register, sign_in_with_google
from realtoros_crm.agents.sessions import TokenPolicy, start_session
from realtoros_crm.agents.throttle import Attempt, Throttle
from realtoros_crm.settings import CrmSettings

WRONG_CREDENTIALS = "wrong email address or password"


class Refused(Exception):
    """Signing up or in was refused; ``status`` is the HTTP status the entrypoints answer."""

    status = 401
    recorded = False
    """A failed attempt was written: the entrypoint commits it though the request fails."""

    def __init__(self, detail: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.headers = headers or {}


class TooManyAttempts(Refused):
    status = 429

    def __init__(self, retry_after: int) -> None:
        super().__init__(
            f"too many failed attempts: try again in {retry_after} seconds",
            {"Retry-After": str(retry_after)},
        )


class WrongCredentials(Refused):
    recorded = True


class AddressTaken(Refused):
    status = 409
    recorded = True


class GoogleDisabled(Refused):
    status = 404


class GoogleUnreachable(Refused):
    status = 503


def token_policy(settings: CrmSettings) -> TokenPolicy:
    return TokenPolicy(
        key=settings.jwt_secret.get_secret_value(),
        access_ttl=timedelta(minutes=settings.jwt_ttl_minutes),
        refresh_ttl=timedelta(days=settings.refresh_ttl_days),
    )


def _throttle(settings: CrmSettings) -> Throttle:
    return Throttle(
        window=timedelta(seconds=settings.login_window_seconds),
        max_per_pair=settings.login_max_failures,
        max_per_ip=settings.login_max_failures_per_ip,
        max_per_account=settings.login_max_failures_per_account,
    )


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


async def sign_up(
    session: AsyncSession, settings: CrmSettings, data: AgentCreate, ip: str, now: datetime
) -> Agent:
    """Create an agent account; every refusal counts as a failed attempt of ``ip``."""
    throttle, attempt = _throttle(settings), Attempt(ip)
    if (wait := await throttle.retry_after(session, attempt, now)) is not None:
        raise TooManyAttempts(wait)
    try:
        return await register(session, data)
    except EmailTaken:
        await session.rollback()
        await throttle.record_failure(session, attempt, now)
        raise AddressTaken("an agent with this email address already exists") from None


async def log_in(
    session: AsyncSession,
    settings: CrmSettings,
    data: LoginRequest,
    request: Request,
    response: Response,
    now: datetime,
) -> TokenPublic:
    """Tokens for an email address and password, and a device cookie set on ``response``
    (failed attempts elsewhere never block a device that signed in before)."""
    throttle = _throttle(settings)
    key = device_key(settings.jwt_secret.get_secret_value())
    device = known_device(request, key, data.email)
    attempt = Attempt(client_ip(request), data.email, device)
    if (wait := await throttle.retry_after(session, attempt, now)) is not None:
        raise TooManyAttempts(wait)
    agent = await authenticate(session, data.email, data.password)
    if agent is None:
        await throttle.record_failure(session, attempt, now)
        raise WrongCredentials(WRONG_CREDENTIALS)
    await throttle.clear(session, attempt)
    tokens, _ = await start_session(session, agent.id, token_policy(settings), now)
    if device is None:
        secure = secure_cookies(request, settings.web_secure_cookies)
        remember_device(response, key, data.email, secure=secure)
    return tokens


@functools.lru_cache(maxsize=8)
def _verifier(client_id: str, jwks_url: str, cache_seconds: int, skew: int) -> GoogleVerifier:
    # One per configuration and process, so Google's keys stay cached between requests.
    return GoogleVerifier(
        client_id=client_id, jwks_url=jwks_url, cache_seconds=cache_seconds, skew_seconds=skew
    )


async def sign_in_google(
    session: AsyncSession, settings: CrmSettings, id_token: str, now: datetime
) -> TokenPublic:
    """Tokens for a Google ID token; links the account with the same verified email."""
    if settings.google_client_id is None:
        raise GoogleDisabled("Google sign-in is not enabled")
    verifier = _verifier(
        settings.google_client_id,
        str(settings.google_jwks_url),
        settings.google_jwks_cache_seconds,
        settings.google_clock_skew_seconds,
    )
    try:
        identity = await verifier.verify(id_token)
    except GoogleTokenInvalid as exc:
        raise Refused(str(exc)) from None
    except GoogleKeysUnavailable:
        raise GoogleUnreachable(
            "Google's signing keys cannot be fetched right now: try again shortly",
            {"Retry-After": "30"},
        ) from None
    agent = await sign_in_with_google(session, identity)
    tokens, _ = await start_session(session, agent.id, token_policy(settings), now)
    return tokens
