"""A proxy in front of moto's SES that can hold the answer to SendEmail: SES has the
email (moto recorded it), but the caller never hears back — the moment a crash makes a
send ambiguous."""

from __future__ import annotations

import asyncio

import aiohttp
from aiohttp import web

SEND_EMAIL_PATH = "/v2/email/outbound-emails"
DROPPED_HEADERS = {"host", "content-length", "transfer-encoding", "connection"}


class SlowSes:
    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.hold_send = True
        self.send_reached_ses = asyncio.Event()
        self._release = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self.url = ""

    async def start(self) -> SlowSes:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._forward)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}"
        self._session = aiohttp.ClientSession()
        return self

    async def stop(self) -> None:
        self._release.set()
        if self._session is not None:
            await self._session.close()
        if self._runner is not None:
            await self._runner.cleanup()

    async def _forward(self, request: web.Request) -> web.StreamResponse:
        assert self._session is not None
        headers = {k: v for k, v in request.headers.items() if k.lower() not in DROPPED_HEADERS}
        body = await request.read()
        async with self._session.request(
            request.method, f"{self.upstream}{request.path_qs}", headers=headers, data=body
        ) as upstream:
            payload = await upstream.read()
            status = upstream.status
            content_type = upstream.headers.get("content-type", "application/json")
        if request.path == SEND_EMAIL_PATH and self.hold_send:
            self.send_reached_ses.set()
            await self._release.wait()  # the caller is killed while waiting here
        return web.Response(body=payload, status=status, headers={"content-type": content_type})
