"""Errors as RFC 9457 problem details (``application/problem+json``)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

log = logging.getLogger(__name__)

MEDIA_TYPE = "application/problem+json"


def problem(
    status: int, detail: str, *, headers: Mapping[str, str] | None = None, **extra: Any
) -> JSONResponse:
    body = {
        "type": "about:blank",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        **extra,
    }
    return JSONResponse(body, status_code=status, media_type=MEDIA_TYPE, headers=headers)


def _where(loc: tuple[int | str, ...]) -> str:
    # ("body", "client", "email") → "client.email"; the bare body stays "body".
    parts = [str(part) for part in loc[1:]] if len(loc) > 1 and loc[0] == "body" else loc
    return ".".join(str(part) for part in parts)


def describe_errors(errors: list[dict[str, Any]]) -> list[dict[str, str]]:
    """The errors without the submitted values (a password must never be echoed back)."""
    return [
        {"field": _where(tuple(e["loc"])), "message": str(e["msg"]), "type": str(e["type"])}
        for e in errors
    ]


async def on_validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = describe_errors(list(exc.errors()))
    detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
    return problem(422, detail or "invalid request", errors=errors)


async def on_http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    return problem(exc.status_code, str(exc.detail), headers=exc.headers)


async def on_unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return problem(500, "an unexpected error occurred; it has been logged")


def install_problem_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(HTTPException, on_http_error)
    app.add_exception_handler(Exception, on_unexpected_error)
