"""Addresses that can never be served: a NUL in the path or query string.

PostgreSQL text cannot hold a NUL, so a search, tag or source filter with one would fail
deep in the database driver. One rule for every route (API and web app alike), checked
before any of them runs: a 422 problem naming the part of the address at fault. Other
text is decoded by Starlette with replacement characters, so it is always representable.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from realtoros_crm.api.problems import problem

_NUL = (b"%00", b"\x00")


def _has_nul(raw: bytes) -> bool:
    lowered = raw.lower()
    return any(marker in lowered for marker in _NUL)


class RejectNulInAddress:
    """ASGI middleware: ``%00`` in the path or query string → 422."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            where = None
            if _has_nul(scope.get("query_string", b"")):
                where = "query"
            elif _has_nul(scope.get("raw_path") or scope.get("path", "").encode()):
                where = "path"
            if where is not None:
                detail = f"{where}: must not contain NUL characters"
                errors = [{"field": where, "message": detail, "type": "value_error"}]
                await problem(422, detail, errors=errors)(scope, receive, send)
                return
        await self.app(scope, receive, send)
