"""The agents' web app under ``/app``: server-rendered pages (Jinja2) over the same services
and rules as the API, a session cookie instead of bearer tokens, CSRF on every form."""

from __future__ import annotations

from typing import TypeVar

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from realtoros_crm.api.problems import UNAVAILABLE
from realtoros_crm.web.render import HERE, page, templates
from realtoros_crm.web.session import CsrfRejected, SignInRequired


class PageNotFound(Exception):
    """Another agent's id, or one that does not exist: the same page either way."""

    def __init__(self, what: str) -> None:
        super().__init__(what)
        self.what = what


T = TypeVar("T")


def found(row: T | None, what: str) -> T:
    """``row``, or the "not found" page for ``what``."""
    if row is None:
        raise PageNotFound(what)
    return row


def mount_web(app: FastAPI) -> None:
    """Add the web app's routes, static files and error pages to the CRM app."""
    from realtoros_crm.web.routes import routers

    for router in routers():
        app.include_router(router, include_in_schema=False)
    app.mount("/app/static", StaticFiles(directory=HERE / "static"), name="web-static")
    app.add_exception_handler(SignInRequired, _to_sign_in)
    app.add_exception_handler(CsrfRejected, _csrf_rejected)
    app.add_exception_handler(PageNotFound, _not_found)
    app.add_api_route("/", _home, include_in_schema=False)
    app.add_api_route("/favicon.ico", _favicon, include_in_schema=False)


def database_unreachable(request: Request) -> Response:
    """The page (not the problem document) a request under ``/app`` gets while the database
    is unreachable (``CrmState.outage_pages``). Self-contained: the usual layout may need
    what the database holds."""
    return templates.TemplateResponse(
        request, "unavailable.html", {"message": UNAVAILABLE}, status_code=503
    )


async def _home() -> RedirectResponse:
    return RedirectResponse("/app", status_code=307)


async def _favicon() -> Response:
    """Browsers ask for /favicon.ico on every site: our icon (SVG), cached for a day."""
    icon = (HERE / "static" / "favicon.svg").read_bytes()
    return Response(icon, media_type="image/svg+xml", headers={"Cache-Control": "max-age=86400"})


async def _to_sign_in(request: Request, exc: Exception) -> Response:
    if request.method != "GET" or request.url.path.endswith(".json"):
        return HTMLResponse("Your session has ended: sign in again.", status_code=401)
    return RedirectResponse(f"/app/login?next={request.url.path}", status_code=303)


async def _csrf_rejected(request: Request, exc: Exception) -> Response:
    return page(
        request,
        "error.html",
        status_code=403,
        title="This form has expired",
        message="The form was not sent from this page or has expired. Go back, reload the "
        "page and try again.",
    )


async def _not_found(request: Request, exc: Exception) -> Response:
    what = exc.what if isinstance(exc, PageNotFound) else "page"
    return page(
        request,
        "error.html",
        status_code=404,
        title="Not found",
        message=f"This {what} does not exist, or is not yours.",
    )
