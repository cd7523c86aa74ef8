"""Rendering the pages: one Jinja2 environment (autoescaped), the helpers the templates use,
and the shapes of flash messages and form errors."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader
from pydantic import ValidationError

from realtoros_crm.clients.service import stage_label
from realtoros_crm.plans.runs import window_for
from realtoros_crm.plans.window import SendingWindow, next_allowed, zone_or_utc
from realtoros_crm.zones import zone_choices

HERE = Path(__file__).parent
templates = Jinja2Templates(
    env=Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=True)
)

FLASH_COOKIE = "realtoros_flash"
ERROR_MARK = "!"  # a flash that starts with it is a refusal: shown as an error
WINDOW_SLACK = timedelta(minutes=1)
GOOGLE = "https://accounts.google.com"
PAGE_HEADERS = {
    # Our script and Google's sign-in button only; no framing (clickjacking); style
    # attributes are allowed for the chart bars' widths.
    "Content-Security-Policy": f"default-src 'self'; script-src 'self' {GOOGLE}; "
    f"frame-src {GOOGLE}; connect-src 'self' {GOOGLE}; style-src 'self' 'unsafe-inline' "
    f"{GOOGLE}; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",  # an agent's clients never stay in a shared cache
}


def local(value: datetime | None, request: Request, fmt: str = "%a %d %b %Y, %H:%M") -> str:
    """A moment in the signed-in agent's time zone."""
    if value is None:
        return "—"
    agent = getattr(request.state, "agent", None)
    zone = zone_or_utc(agent.timezone if agent is not None else "UTC")
    return value.astimezone(zone).strftime(fmt)


def input_value(value: datetime | None, request: Request) -> str:
    """The value of a ``datetime-local`` input, in the agent's zone."""
    return local(value, request, "%Y-%m-%dT%H:%M") if value is not None else ""


def _now(request: Request) -> datetime:
    now: datetime = request.app.state.crm.clock()
    return now


def overdue(task: Any, request: Request) -> bool:
    """Still to do, and its time has passed (a task being written or sent is not late)."""
    return bool(task.status == "pending" and task.due_at < _now(request))


def goes_out(task: Any, request: Request, zones: Mapping[uuid.UUID, str | None]) -> str | None:
    """The "goes out …" note of a pending plan email that the sending window moves: the
    claimer holds such an email until the window opens, in the client's time zone
    (``window_for``, the claimer's rule; ``zones``: the page's clients' zones). A one-off
    email is not held (as at claim time): no note."""
    agent = getattr(request.state, "agent", None)
    if agent is None or task.task_type != "email" or task.status != "pending":
        return None
    if task.plan_run_id is None:
        return None
    window = window_for(agent, zones[task.client_id])  # a page without its zones fails loudly
    earliest = max(task.due_at, _now(request))
    sends = next_allowed(earliest, window)
    return window_note(sends, window, request) if sends - earliest > WINDOW_SLACK else None


def window_note(sends: datetime, window: SendingWindow, request: Request) -> str:
    """ "goes out <when, in the agent's zone>, when your sending window opens", with the
    client's local time and zone when the window is kept in another zone than the agent's."""
    note = f"goes out {local(sends, request)}, when your sending window opens"
    agent = getattr(request.state, "agent", None)
    if agent is not None and window.zone.key != zone_or_utc(agent.timezone).key:
        there = sends.astimezone(window.zone).strftime("%H:%M")
        note += f" ({there} in the client's time zone, {window.zone.key})"
    return note


def plural(count: int, word: str) -> str:
    """``1 client``, ``3 clients``, ``0 clients``: never "client(s)"."""
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def times(count: int) -> str:
    """How often something happened, as an agent says it."""
    return {0: "not yet", 1: "once", 2: "twice"}.get(count, f"{count} times")


def percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.0f}%"


def query(request: Request, **changes: Any) -> str:
    """The current query string with some parameters replaced (None removes one)."""
    items = [(k, v) for k, v in request.query_params.multi_items() if k not in changes]
    for key, value in changes.items():
        if isinstance(value, list | tuple):
            items.extend((key, str(v)) for v in value)
        elif value is not None:
            items.append((key, str(value)))
    return "?" + urlencode(items)


templates.env.globals.update(
    local=local,
    input_value=input_value,
    percent=percent,
    query=query,
    overdue=overdue,
    goes_out=goes_out,
    plural=plural,
    times=times,
    zone_choices=zone_choices,
)
templates.env.filters["stage"] = stage_label


def page(request: Request, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    flash = unquote(request.cookies.get(FLASH_COOKIE, "")) or None
    flash_error = bool(flash and flash.startswith(ERROR_MARK))
    if flash_error and flash:
        flash = flash.removeprefix(ERROR_MARK)
    response = templates.TemplateResponse(
        request,
        name,
        {
            "agent": getattr(request.state, "agent", None),
            "saved_lists": getattr(request.state, "saved_lists", ()),
            "csrf": getattr(request.state, "csrf", ""),
            "flash": flash,
            "flash_error": flash_error,
            "google_client_id": request.app.state.crm.settings.google_client_id,
            **context,
        },
        status_code=status_code,
    )
    if flash:
        response.delete_cookie(FLASH_COOKIE, path="/app")
    response.headers.update(PAGE_HEADERS)
    return response


def redirect(url: str, flash: str | None = None, *, error: bool = False) -> RedirectResponse:
    """After a form: 303 to the next page, with a one-time message (``error``: a refusal,
    shown as an error rather than a confirmation)."""
    response = RedirectResponse(url, status_code=303)
    if flash:
        value = (ERROR_MARK if error else "") + flash.lstrip(ERROR_MARK)
        response.set_cookie(
            FLASH_COOKIE, quote(value[:400]), path="/app", httponly=True, samesite="lax"
        )
    return response


async def posted_form(request: Request) -> dict[str, str]:
    """A form's fields as text (NUL removed: PostgreSQL text cannot hold it)."""
    return {k: str(v).replace("\x00", "") for k, v in (await request.form()).items()}


def problem_text(exc: Exception) -> str:
    """What was wrong, in one line for a flash message."""
    if isinstance(exc, ValidationError):
        return "; ".join(f"{k.replace('_', ' ')}: {v}" for k, v in field_errors(exc).items())
    return str(exc)


def field_errors(exc: ValidationError) -> dict[str, str]:
    """Pydantic's errors by field name, in words an agent reads."""
    errors: dict[str, str] = {}
    for error in exc.errors():
        where = ".".join(str(part) for part in error["loc"]) or "form"
        message = str(error["msg"]).removeprefix("Value error, ")
        errors.setdefault(where.split(".")[0], message)
    return errors
