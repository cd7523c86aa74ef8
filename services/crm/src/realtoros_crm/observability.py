"""The CRM's eyes: ``GET /metrics`` (``Bus.metrics``, the worker services' one), and
(when this process exports traces) the FastAPI and SQLAlchemy instrumentation."""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, FastAPI, Response
from sqlalchemy.ext.asyncio import AsyncEngine

from realtoros_crm.api.deps import StateDep
from realtoros_runtime.telemetry import tracing_enabled

SERVICE = "crm"

router = APIRouter(tags=["operations"])


@router.get("/metrics", include_in_schema=False)
async def metrics(state: StateDep) -> Response:
    """Prometheus metrics of this process (the consumers' lag sampled now)."""
    body, content_type = await state.bus.metrics.scrape(state.bus.broker)
    return Response(body, media_type=content_type)


def instrument_app(app: FastAPI) -> None:
    """Server spans for the API (not the probes nor the scrapes)."""
    if tracing_enabled():
        from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

        FastAPIInstrumentor.instrument_app(
            app, excluded_urls="healthz,readyz,metrics", server_request_hook=redact_url_key
        )


_URL_KEY = re.compile(r"((?:^|[?&])key=)[^&#\s]*")


def redact_url_key(span: Any, scope: dict[str, Any]) -> None:
    """A lead form's API key travels in the URL (``?key=``): never into a trace."""
    if span is None or not span.is_recording() or b"key=" not in scope.get("query_string", b""):
        return
    for name, value in dict(span.attributes or {}).items():
        if isinstance(value, str) and "key=" in value:
            span.set_attribute(name, _URL_KEY.sub(r"\1REDACTED", value))


def instrument_engine(engine: AsyncEngine) -> None:
    """A client span per SQL statement."""
    if tracing_enabled():
        from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor

        # Its declared range stops before SQLAlchemy 2.1, which its event hooks work with.
        SQLAlchemyInstrumentor().instrument(engine=engine.sync_engine, skip_dep_check=True)
