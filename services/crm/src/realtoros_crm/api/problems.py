"""Errors as RFC 9457 problem details (``application/problem+json``), handled and described
in the OpenAPI document for every route (including the ones added later)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from http import HTTPStatus
from typing import Any, TypeVar

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException

from realtoros_runtime.faults import Fault, classify

T = TypeVar("T")


def found(row: T | None, what: str, row_id: object) -> T:
    """``row``, or the 404 "<what> <id> not found" (another agent's row is not found too)."""
    if row is None:
        raise HTTPException(404, f"{what} {row_id} not found")
    return row


log = logging.getLogger(__name__)

MEDIA_TYPE = "application/problem+json"


class FieldError(BaseModel):
    field: str = Field(description="Where: a body field (dotted), or query/path/header name.")
    message: str
    type: str


class Problem(BaseModel):
    """RFC 9457 problem details: every 4xx and 5xx of this API has this shape."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "type": "about:blank",
                    "title": "Unprocessable Content",
                    "status": 422,
                    "detail": "email: value is not a valid email address",
                    "errors": [
                        {
                            "field": "email",
                            "message": "value is not a valid email address",
                            "type": "value_error",
                        }
                    ],
                }
            ]
        }
    )

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    errors: list[FieldError] | None = Field(default=None, description="422 only: each field.")


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


def problem_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` of a route: these statuses, described as problem details."""
    return {
        code: {
            "model": Problem,
            "description": HTTPStatus(code).phrase,
            "content": {MEDIA_TYPE: {}},
        }
        for code in codes
    }


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


RETRY_AFTER_SECONDS = 5
UNAVAILABLE = "RealtorOS can't reach its database; retrying"

OutagePage = Callable[[Request], Response]
"""Renders the outage page of a part of the app (the web app under /app has its own)."""


async def on_unexpected_error(request: Request, exc: Exception) -> Response:
    if classify(exc) is Fault.TRANSIENT:  # the database is away: not a bug, not a 500
        log.warning(
            "%s %s: 503, a dependency is unavailable (%s)",
            request.method,
            request.url.path,
            type(exc).__name__,
        )
        return _unavailable(request)
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return problem(500, "an unexpected error occurred; it has been logged")


def _unavailable(request: Request) -> Response:
    headers = {"Retry-After": str(RETRY_AFTER_SECONDS)}
    state = getattr(request.app.state, "crm", None)  # CrmState, once the app has started
    pages: dict[str, OutagePage] = state.outage_pages if state is not None else {}
    for prefix, render in pages.items():
        if request.url.path.startswith(prefix):
            response = render(request)
            response.headers.update(headers)
            return response
    return problem(503, f"{UNAVAILABLE}: try again shortly", headers=headers)


_PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
_PROBLEM_CONTENT = {MEDIA_TYPE: {"schema": _PROBLEM_REF}}
_UNAVAILABLE_RESPONSE = {
    "description": "The database is unreachable (an outage, a failover): try again after "
    "the Retry-After header's seconds.",
    "headers": {"Retry-After": {"schema": {"type": "integer"}, "description": "Seconds."}},
    "content": _PROBLEM_CONTENT,
}


def _describe_problems(operation: dict[str, Any], authenticated: bool) -> None:
    responses = operation.setdefault("responses", {})
    for code, response in responses.items():
        if code.startswith(("4", "5")):
            # FastAPI's HTTPValidationError is not what the API sends: the problem is.
            response["content"] = _PROBLEM_CONTENT
    if authenticated and "401" not in responses:
        responses["401"] = {"description": "Not signed in", "content": _PROBLEM_CONTENT}
    responses.setdefault("503", _UNAVAILABLE_RESPONSE)
    responses.setdefault("4XX", {"description": "Problem details", "content": _PROBLEM_CONTENT})


def _openapi(app: FastAPI) -> dict[str, Any]:
    if app.openapi_schema is not None:
        return app.openapi_schema
    schema = get_openapi(
        title=app.title,
        version=app.version,
        description=app.description,
        routes=app.routes,
        tags=app.openapi_tags,
    )
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    problem_schema = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    components.update(problem_schema.pop("$defs", {}))
    components["Problem"] = problem_schema
    components.pop("HTTPValidationError", None)
    components.pop("ValidationError", None)
    for path_item in schema.get("paths", {}).values():
        for operation in path_item.values():
            if isinstance(operation, dict) and "responses" in operation:
                _describe_problems(operation, bool(operation.get("security")))
    app.openapi_schema = schema
    return schema


def install_problem_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(HTTPException, on_http_error)
    app.add_exception_handler(Exception, on_unexpected_error)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
