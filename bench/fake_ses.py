"""A fast fake of the SES v2 ``SendEmail`` call for benchmarks (moto is too slow to be the
ceiling): ``POST /v2/email/outbound-emails`` answers ``{"MessageId": ...}`` at once.

``python -m bench.fake_ses --port N`` prints ``ready <url>``; ``GET /_stats`` says how many
emails it took.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import signal
import uuid

from aiohttp import web


class FakeSes:
    def __init__(self) -> None:
        self.sent = 0
        self._ids = itertools.count(1)

    async def send_email(self, request: web.Request) -> web.Response:
        await request.read()
        self.sent += 1
        message_id = f"{next(self._ids):010d}-{uuid.uuid4()}-000000"
        return web.json_response({"MessageId": message_id})

    async def stats(self, request: web.Request) -> web.Response:
        return web.json_response({"sent": self.sent})

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/v2/email/outbound-emails", self.send_email)
        app.router.add_get("/_stats", self.stats)
        return app


async def serve(host: str, port: int) -> None:
    runner = web.AppRunner(FakeSes().app(), access_log=None, shutdown_timeout=1.0)
    await runner.setup()
    await web.TCPSite(runner, host, port, backlog=1024).start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    print(f"ready http://{host}:{runner.addresses[0][1]}", flush=True)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(prog="fake_ses", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(args.host, args.port))


if __name__ == "__main__":
    main()
