"""tests/support/fake_llm.py as its own process, plus ``GET /_stats`` (requests answered,
in flight now and at most), which the LLM-bound benchmark reads.

``python -m bench.fake_llm --port N --latency S`` (never records requests).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib

from aiohttp import web

from tests.support.fake_llm import FakeLLM, _serve


class CountingFakeLLM(FakeLLM):
    def make_app(self) -> web.Application:
        app = super().make_app()
        app.router.add_get("/_stats", self._stats)
        app.router.add_post("/_stats/reset", self._reset_stats)
        return app

    async def _stats(self, request: web.Request) -> web.Response:
        return web.json_response({"in_flight": self.in_flight, "max_in_flight": self.max_in_flight})

    async def _reset_stats(self, request: web.Request) -> web.Response:
        self.max_in_flight = self.in_flight
        return web.json_response({"reset": True})


def main() -> None:
    parser = argparse.ArgumentParser(prog="bench.fake_llm", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--latency", type=float, default=0.0)
    args = parser.parse_args()
    server = CountingFakeLLM(args.host, args.port, latency=args.latency, record=False)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(server))


if __name__ == "__main__":
    main()
