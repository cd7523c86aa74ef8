"""The web app's session: a cookie holding an opaque refresh token (the same revocable,
hashed-at-rest tokens the API's sessions use; the web never rotates it), and CSRF tokens.

CSRF: a signed-in agent's token is an HMAC of the session token, so it is bound to the
session and needs no storage; before sign-in (the sign-in and register forms) it is a
random value in a second cookie, submitted back (double submit). Every unsafe request
under /app must carry it, as the ``csrf`` form field or the ``X-CSRF-Token`` header.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from types import SimpleNamespace
from typing import Annotated

from fastapi import Depends, Request, Response

from realtoros_crm.agents.devices import secure_cookies
from realtoros_crm.agents.models import Agent
from realtoros_crm.agents.repository import get_agent, live_refresh_token
from realtoros_crm.agents.security import token_digest
from realtoros_crm.api.deps import SessionDep, StateDep
from realtoros_crm.lists.service import list_lists
from realtoros_crm.state import CrmState

SESSION_COOKIE = "realtoros_session"
ANON_CSRF_COOKIE = "realtoros_csrf"
CSRF_FIELD = "csrf"
CSRF_HEADER = "x-csrf-token"
UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class SignInRequired(Exception):
    """No valid session: the page redirects to the sign-in form."""


class CsrfRejected(Exception):
    """An unsafe request without the right CSRF token (answered 403)."""


def _secure(request: Request, state: CrmState) -> bool:
    return secure_cookies(request, state.settings.web_secure_cookies)


def _key(state: CrmState) -> bytes:
    return hmac.new(
        state.settings.jwt_secret.get_secret_value().encode(), b"realtoros-web/csrf", "sha256"
    ).digest()


def csrf_for_session(state: CrmState, raw_session: str) -> str:
    return hmac.new(_key(state), raw_session.encode(), hashlib.sha256).hexdigest()


def set_session_cookie(response: Response, request: Request, state: CrmState, raw: str) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        raw,
        max_age=state.settings.refresh_ttl_days * 86_400,
        path="/app",  # the API never sees it: it takes bearer tokens only
        httponly=True,
        samesite="lax",
        secure=_secure(request, state),
    )
    response.delete_cookie(ANON_CSRF_COOKIE, path="/app")


def clear_session_cookie(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/app")


def anon_csrf(request: Request, response: Response, state: CrmState) -> str:
    """The pre-sign-in CSRF value: the cookie's, or a new one set on ``response``."""
    value = request.cookies.get(ANON_CSRF_COOKIE)
    if not value or len(value) != 43:
        value = secrets.token_urlsafe(32)
        response.set_cookie(
            ANON_CSRF_COOKIE,
            value,
            path="/app",
            httponly=True,
            samesite="lax",
            secure=_secure(request, state),
        )
    return value


async def session_agent(request: Request, session: SessionDep, state: StateDep) -> Agent | None:
    """The agent of a live session cookie (not revoked, not expired), or None."""
    raw = request.cookies.get(SESSION_COOKIE)
    if not raw or len(raw) > 200:
        return None
    row = await live_refresh_token(session, token_digest(raw), state.clock())
    return None if row is None else await get_agent(session, row.agent_id)


async def check_csrf(request: Request, state: CrmState) -> None:
    """Raise :class:`CsrfRejected` unless an unsafe request carries the right token."""
    if request.method not in UNSAFE:
        return
    raw, anon = request.cookies.get(SESSION_COOKIE), request.cookies.get(ANON_CSRF_COOKIE)
    # A session cookie that has ended (signed out elsewhere, expired) still comes along to
    # the sign-in form, whose token is the pre-sign-in one: either may be the right one.
    expected = [token for token in (raw and csrf_for_session(state, raw), anon) if token]
    given = request.headers.get(CSRF_HEADER)
    if given is None:
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            given = str((await request.form()).get(CSRF_FIELD) or "")
    if not given or not any(hmac.compare_digest(token, given) for token in expected):
        raise CsrfRejected


async def signed_in(request: Request, session: SessionDep, state: StateDep) -> Agent:
    """The page's agent (CSRF checked for unsafe methods); else off to the sign-in form."""
    agent = await session_agent(request, session, state)
    if agent is None:
        raise SignInRequired
    await check_csrf(request, state)
    request.state.csrf = csrf_for_session(state, request.cookies[SESSION_COOKIE])
    request.state.agent = agent
    # The navigation's lists, as plain values: a page re-rendered after a rollback (a form
    # with errors) must not touch expired ORM rows (MissingGreenlet, a 500).
    lists = await list_lists(session, agent.id)
    request.state.saved_lists = [SimpleNamespace(id=s.id, name=s.name) for s in lists]
    return agent


WebAgent = Annotated[Agent, Depends(signed_in)]
