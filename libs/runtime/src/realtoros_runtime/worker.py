"""The ASGI app every worker service is served as: the broker's lifecycle, /healthz,
/readyz, /metrics and the AsyncAPI document (the bus itself: ``realtoros_runtime.bus``)."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from faststream.asgi import AsgiFastStream, AsgiResponse, get
from faststream.asgi.factories.asyncapi.route import AsyncAPIRoute
from faststream.asgi.types import Scope

from realtoros_runtime.asyncapi import ServiceAsyncAPI
from realtoros_runtime.batches import start_batches, stop_batches
from realtoros_runtime.bus import Bus
from realtoros_runtime.metrics import METRICS_PATH
from realtoros_runtime.readiness import ReadyCheck
from realtoros_runtime.settings import ServiceSettings


def asyncapi_spec(bus: Bus, *, title: str, description: str) -> ServiceAsyncAPI:
    return ServiceAsyncAPI(bus, title=title, description=description)


def _healthz() -> Any:
    @get(include_in_schema=False)
    async def healthz(scope: Scope) -> AsgiResponse:
        return AsgiResponse(b'{"status":"ok"}', 200, headers={"content-type": "application/json"})

    return healthz


def _readyz(bus: Bus) -> Any:
    @get(include_in_schema=False)
    async def readyz(scope: Scope) -> AsgiResponse:
        if problems := await bus.readiness.problems():
            body = json.dumps({"status": "unavailable", "problems": problems}).encode()
            return AsgiResponse(body, 503, headers={"content-type": "application/json"})
        return AsgiResponse(
            b'{"status":"ready"}', 200, headers={"content-type": "application/json"}
        )

    return readyz


def worker_app(
    bus: Bus,
    *,
    title: str,
    description: str,
    ready_checks: Sequence[ReadyCheck] = (),
    on_startup: Sequence[Callable[[], Awaitable[None]]] = (),
    after_startup: Sequence[Callable[[], Awaitable[None]]] = (),
    on_shutdown: Sequence[Callable[[], Awaitable[None]]] = (),
) -> AsgiFastStream:
    """The ASGI app of a worker service: the broker's lifecycle plus /healthz, /readyz,
    /metrics (``Bus.metrics``) and the AsyncAPI document at /asyncapi (HTML) and
    /asyncapi.json."""
    for check in ready_checks:
        bus.readiness.add_check(check)
    app = AsgiFastStream(
        bus.broker,
        asgi_routes=[
            ("/healthz", _healthz()),
            ("/readyz", _readyz(bus)),
            (METRICS_PATH, bus.metrics.route(bus.broker)),
        ],
        on_startup=[bus.connect, *on_startup],
        after_startup=[lambda: start_batches(bus), *after_startup],
        on_shutdown=[lambda: stop_batches(bus), *on_shutdown, bus.readiness.close],
        specification=asyncapi_spec(bus, title=title, description=description),
        asyncapi_path=AsyncAPIRoute("/asyncapi", try_it_out_path=None),
    )
    return app


def serve(app: Any, settings: ServiceSettings) -> None:
    """Run an ASGI app with uvicorn on the service's host and port."""
    import gc

    import uvicorn

    # Everything imported and built so far lives as long as the process: out of the
    # collector's sight, full collections stop re-walking it (they paused a CRM claim
    # batch for ~80 ms).
    gc.collect()
    gc.freeze()
    uvicorn.run(
        app,
        host=settings.http_host,
        port=settings.http_port,
        log_config=None,
        access_log=False,
        lifespan="on",
    )
