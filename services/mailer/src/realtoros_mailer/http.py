"""Plain ASGI helpers for the mailer's own routes (mounted on the worker app)."""

from __future__ import annotations

from faststream.asgi.types import Receive, Scope, Send

__all__ = ["BodyTooLarge", "Receive", "Scope", "Send", "read_body", "respond"]


class BodyTooLarge(Exception):
    pass


async def read_body(receive: Receive, limit: int) -> bytes:
    body = b""
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return body
        body += bytes(message.get("body", b""))
        if len(body) > limit:
            raise BodyTooLarge
        if not message.get("more_body", False):
            return body


async def respond(
    send: Send, status: int, body: bytes, *, content_type: str = "text/plain; charset=utf-8"
) -> None:
    headers = [
        (b"content-type", content_type.encode()),
        (b"content-length", str(len(body)).encode()),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
