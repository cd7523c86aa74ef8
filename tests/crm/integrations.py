"""Helpers of the integration tests: API keys, and a webhook receiver the tests start."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
from aiohttp import web
from standardwebhooks import Webhook, WebhookVerificationError

from tests.crm.helpers import SignedIn


async def add_key(
    http: httpx.AsyncClient, who: SignedIn, *scopes: str, **fields: Any
) -> dict[str, Any]:
    body = {"name": fields.pop("name", "Test key"), "scopes": list(scopes), **fields}
    response = await http.post("/api-keys", json=body, headers=who.headers)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def bearer(key: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {key['key']}"}


@dataclass
class Receiver:
    """A real HTTP server on 127.0.0.1 that checks every request's Standard Webhooks
    signature with the ``standardwebhooks`` library, as a subscriber would. ``fail_first``
    requests (or all, with ``always_fail``) are answered 503; the rest 204."""

    url: str = ""
    secret: str | None = None
    fail_first: int = 0
    always_fail: bool = False
    status: int = 204
    delay: float = 0.0
    """Seconds before answering (a receiver too slow for the sender's time limit)."""
    requests: int = 0
    accepted: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    """(webhook-id, verified payload) of every request answered 2xx, in order."""
    unverified: list[str] = field(default_factory=list)

    async def handle(self, request: web.Request) -> web.Response:
        self.requests += 1
        body = await request.read()
        await asyncio.sleep(self.delay)
        if self.always_fail or self.requests <= self.fail_first:
            return web.Response(status=503)
        assert self.secret is not None, "set the endpoint's secret on the receiver"
        try:
            payload = Webhook(self.secret).verify(body, dict(request.headers))
        except WebhookVerificationError as exc:
            self.unverified.append(str(exc))
            return web.Response(status=400)
        if 200 <= self.status < 300:
            self.accepted.append((request.headers["webhook-id"], payload))
        return web.Response(status=self.status)

    def ids(self) -> list[str]:
        return [webhook_id for webhook_id, _ in self.accepted]


@asynccontextmanager
async def receiving(receiver: Receiver, path: str = "/hook") -> AsyncIterator[Receiver]:
    app = web.Application()
    app.router.add_post(path, receiver.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    receiver.url = f"http://127.0.0.1:{port}{path}"
    try:
        yield receiver
    finally:
        await runner.cleanup()
        await asyncio.sleep(0)


async def subscribe(
    http: httpx.AsyncClient, who: SignedIn, receiver: Receiver, *types: str, **fields: Any
) -> dict[str, Any]:
    body = {"url": fields.pop("url", receiver.url), "event_types": list(types), **fields}
    response = await http.post("/webhooks", json=body, headers=who.headers)
    assert response.status_code == 201, response.text
    endpoint: dict[str, Any] = response.json()
    receiver.secret = endpoint["secret"]
    return endpoint
