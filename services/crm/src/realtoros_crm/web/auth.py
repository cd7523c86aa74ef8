"""Sign in, register, Google sign-in and sign out. Each one follows the API's rules
(``agents/signing_in.py``: the same throttling, the same refusals) and keeps the refresh
token it returns as the session."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request, Response
from pydantic import ValidationError

from realtoros_crm.agents import signing_in
from realtoros_crm.agents.schemas import AgentCreate, GoogleSignIn, LoginRequest
from realtoros_crm.agents.sessions import revoke
from realtoros_crm.api.deps import SessionDep, StateDep
from realtoros_crm.web.render import field_errors, page, redirect
from realtoros_crm.web.session import (
    SESSION_COOKIE,
    anon_csrf,
    check_csrf,
    clear_session_cookie,
    session_agent,
    set_session_cookie,
)

router = APIRouter(prefix="/app")
Text = Annotated[str, Form()]


def _next(url: str | None) -> str:
    # Only a page of this app: never an open redirect to another site.
    return url if url and url.startswith("/app") and not url.startswith("/app//") else "/app"


def _with_cookies(response: Response, source: Response) -> Response:
    """``response`` with the cookies set on ``source`` (a holder an API handler set)."""
    for key, value in source.headers.items():
        if key == "set-cookie":
            response.headers.append(key, value)
    return response


def _form(request: Request, name: str, **context: object) -> Response:
    response = Response()
    csrf = anon_csrf(request, response, request.app.state.crm)
    rendered = page(request, name, csrf=csrf, status_code=context.pop("status", 200), **context)  # type: ignore[arg-type]
    _with_cookies(rendered, response)
    return rendered


@router.get("/login")
async def login_form(
    request: Request, session: SessionDep, state: StateDep, next: str | None = None
) -> Response:
    if await session_agent(request, session, state) is not None:
        return redirect(_next(next))
    return _form(request, "login.html", next=_next(next), values={}, errors={})


@router.post("/login")
async def login_submit(
    request: Request,
    session: SessionDep,
    state: StateDep,
    email: Text = "",
    password: Text = "",
    next: Text = "/app",
) -> Response:
    await check_csrf(request, state)
    values, cookies = {"email": email}, Response()
    try:
        data = LoginRequest(email=email, password=password)
        tokens = await signing_in.log_in(
            session, state.settings, data, request, cookies, state.clock()
        )
    except ValidationError:
        return _form(
            request,
            "login.html",
            next=_next(next),
            values=values,
            status=422,
            errors={"form": "Enter your email address and password."},
        )
    except signing_in.Refused as exc:
        return _form(
            request,
            "login.html",
            next=_next(next),
            values=values,
            status=exc.status,
            errors={"form": exc.detail},
        )
    response = _with_cookies(redirect(_next(next)), cookies)
    set_session_cookie(response, request, state, tokens.refresh_token)
    return response


@router.get("/register")
async def register_form(request: Request) -> Response:
    return _form(request, "register.html", values={}, errors={})


@router.post("/register")
async def register_submit(
    request: Request,
    session: SessionDep,
    state: StateDep,
    name: Text = "",
    email: Text = "",
    password: Text = "",
    brokerage: Text = "",
) -> Response:
    await check_csrf(request, state)
    values, cookies = {"name": name, "email": email, "brokerage": brokerage}, Response()
    try:
        data = AgentCreate(name=name, email=email, password=password, brokerage=brokerage or None)
        now = state.clock()
        await signing_in.sign_up(session, state.settings, data, signing_in.client_ip(request), now)
        login = LoginRequest(email=email, password=password)
        tokens = await signing_in.log_in(session, state.settings, login, request, cookies, now)
    except ValidationError as exc:
        return _form(request, "register.html", values=values, errors=field_errors(exc), status=422)
    except signing_in.Refused as exc:
        return _form(
            request,
            "register.html",
            values=values,
            status=exc.status,
            errors={"form": exc.detail},
        )
    welcome = redirect("/app/settings", "Welcome! Set your signature and sending window.")
    response = _with_cookies(welcome, cookies)
    set_session_cookie(response, request, state, tokens.refresh_token)
    return response


@router.post("/google")
async def google_submit(
    request: Request, session: SessionDep, state: StateDep, credential: Text = ""
) -> Response:
    """The Google button posts its ID token here (with our CSRF field)."""
    await check_csrf(request, state)
    try:
        token = GoogleSignIn(id_token=credential).id_token
        tokens = await signing_in.sign_in_google(session, state.settings, token, state.clock())
    except (ValidationError, signing_in.Refused) as exc:
        detail = exc.detail if isinstance(exc, signing_in.Refused) else "no Google credential"
        return _form(
            request,
            "login.html",
            next="/app",
            values={},
            status=401,
            errors={"form": f"Google sign-in failed: {detail}"},
        )
    response = redirect("/app")
    set_session_cookie(response, request, state, tokens.refresh_token)
    return response


@router.post("/logout")
async def logout(request: Request, session: SessionDep, state: StateDep) -> Response:
    await check_csrf(request, state)
    agent = await session_agent(request, session, state)
    if agent is not None:
        await revoke(session, request.cookies[SESSION_COOKIE], agent.id, state.clock())
    response = redirect("/app/login", "You are signed out.")
    clear_session_cookie(response)
    return response
