"""An OpenAI-compatible chat completions server for tests and benchmarks.

It answers ``POST /v1/chat/completions`` (and Azure OpenAI's
``POST /openai/deployments/<deployment>/chat/completions?api-version=…`` with an
``api-key`` header) in the OpenAI response shape (id, model,
choices[0].message, usage with ``prompt_tokens_details.cached_tokens``, an ``x-request-id``
header) and is scripted per request: a test queues behaviours, each request takes the
next one, and an empty queue answers with the default (a valid JSON email built from the
prompt, unless the test set another default). ``for_client(name, behaviour)`` answers
every request about that client (the prompt's "Client name:" line) with ``behaviour``
instead, whatever the queue holds.

In-process::

    async with FakeLLM() as server:
        server.script([server_error(), answer("Hi", "Hello")])
        ... OPENAI_BASE_URL=server.base_url ...
        server.requests  # what it received

As its own process (``python -m bench.fake_llm --port N [--latency S] [--no-record]``),
it prints ``ready <base_url>`` once listening and is scripted over HTTP:
``POST /_script`` with ``{"behaviours": [...], "default": {...}, "append": false,
"rejected_formats": ["json_schema"]}``, ``GET /_requests``, ``GET /_counts``
(``max_in_flight``), ``POST /_reset``; ``GET /_stats`` (in flight now and at most) and
``POST /_stats/reset`` are what the LLM-bound benchmarks read. The tests launch it
through ``tests.support.fake_llm.launched``; the benchmarks through ``bench.stack``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import re
import signal
import time
import uuid
from collections import deque
from collections.abc import Iterable
from typing import Any

from aiohttp import web

Behaviour = dict[str, Any]
"""One scripted answer, as JSON: ``{"kind": ..., "delay": seconds, ...}``."""

_FIRST_NAME = re.compile(r"^Client first name:[ \t]*(.+)$", re.MULTILINE)
_PURPOSE = re.compile(r"^Follow-up step:[ \t]*(.+)$", re.MULTILINE)
_CLIENT = re.compile(r"^Client name:[ \t]*(.+)$", re.MULTILINE)


# --- behaviours (plain dicts, so the same script works in-process and over HTTP) ---------


def answer(subject: str, body: str, **extra: Any) -> Behaviour:
    """Answer with this email as the JSON content (extra: ``usage``, ``model``, ``delay``)."""
    return {"kind": "answer", "subject": subject, "body": body, **extra}


def text(content: str, **extra: Any) -> Behaviour:
    """Answer with exactly this message content."""
    return {"kind": "text", "content": content, **extra}


def malformed(**extra: Any) -> Behaviour:
    """Answer with content that is not JSON."""
    return text('Sure! Here is the email: {subject: "Hello", body: oops', **extra)


def refuse(message: str = "I'm sorry, I can't help with that.", **extra: Any) -> Behaviour:
    """Answer with ``message.refusal`` set and no content."""
    return {"kind": "refuse", "refusal": message, **extra}


def rate_limited(retry_after: float | None = 1.0, **extra: Any) -> Behaviour:
    """HTTP 429 with a ``Retry-After`` header (seconds; None: none). ``ratelimit_headers``
    adds headers such as ``{"x-ratelimit-reset-requests": "1s"}``."""
    return {"kind": "status", "status": 429, "retry_after": retry_after, **extra}


def server_error(
    status: int = 500, *, retry_after_ms: int | None = None, **extra: Any
) -> Behaviour:
    """An HTTP error (500 by default); ``retry_after_ms`` adds a ``retry-after-ms`` header,
    which lets a test keep the SDK's backoff short."""
    return {"kind": "status", "status": status, "retry_after_ms": retry_after_ms, **extra}


def reject_formats(*formats: str, **extra: Any) -> Behaviour:
    """HTTP 400 when the request's response_format type is one of ``formats`` (default
    json_schema); any other request is answered with the default."""
    return {"kind": "reject_format", "formats": list(formats or ("json_schema",)), **extra}


def obey_injections(**extra: Any) -> Behaviour:
    """A model that does whatever the client data says: the email repeats every line of
    the fenced client data (the name, the property, the notes, custom fields, the timeline)
    word for word, so any address, link or number injected there reaches the draft."""
    return {"kind": "obey", **extra}


def delayed(seconds: float, then: Behaviour | None = None) -> Behaviour:
    """Wait ``seconds`` before doing ``then`` (the default answer when None)."""
    return {**(then or {"kind": "default"}), "delay": seconds}


# --- the server --------------------------------------------------------------------------


class FakeLLM:
    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        latency: float = 0.0,
        record: bool = True,
        max_records: int = 50_000,
        rejected_formats: Iterable[str] = (),
    ) -> None:
        self.host = host
        self.port = port
        self.latency = latency
        self.record = record
        self.max_records = max_records
        self.rejected_formats: set[str] = set(rejected_formats)
        self.requests: list[dict[str, Any]] = []
        self._queue: deque[Behaviour] = deque()
        self._default: Behaviour | None = None
        self.client_rules: dict[str, Behaviour] = {}
        self._ids = itertools.count(1)
        self.completions = 0
        """Chat completions answered (errors not counted)."""
        self._runner: web.AppRunner | None = None
        self.in_flight = 0
        self.max_in_flight = 0
        """The most chat requests it was answering at once (a concurrency bound's proof)."""

    # scripting -------------------------------------------------------------------------
    def script(
        self,
        behaviours: Iterable[Behaviour],
        *,
        default: Behaviour | None = None,
        append: bool = False,
    ) -> None:
        """Queue behaviours for the next requests, in order; ``default`` answers once the
        queue is empty (None: a valid email built from the prompt)."""
        if not append:
            self._queue.clear()
        self._queue.extend(dict(b) for b in behaviours)
        self._default = dict(default) if default else None

    def for_client(self, name: str, behaviour: Behaviour) -> None:
        """Answer every request about the client called ``name`` with ``behaviour``."""
        self.client_rules[name] = dict(behaviour)

    def reset(self) -> None:
        self.client_rules.clear()
        self._queue.clear()
        self._default = None
        self.rejected_formats.clear()
        self.requests.clear()
        self.max_in_flight = self.in_flight

    @property
    def pending(self) -> int:
        """Scripted behaviours not used yet."""
        return len(self._queue)

    async def wait_for_requests(self, count: int, timeout: float = 10.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while len(self.requests) < count:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{len(self.requests)} of {count} requests in {timeout}s")
            await asyncio.sleep(0.01)
        return self.requests

    # lifecycle -------------------------------------------------------------------------
    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        """What OPENAI_BASE_URL should be."""
        return f"{self.url}/v1"

    def make_app(self) -> web.Application:
        app = web.Application(client_max_size=8 * 1024 * 1024)
        app.router.add_post("/v1/chat/completions", self._chat)
        app.router.add_post("/openai/deployments/{deployment}/chat/completions", self._chat)
        app.router.add_post("/_script", self._script)
        app.router.add_get("/_requests", self._requests)
        app.router.add_get("/_counts", self._counts)
        app.router.add_post("/_reset", self._reset)
        app.router.add_get("/_stats", self._stats)
        app.router.add_post("/_stats/reset", self._reset_stats)
        return app

    async def start(self) -> FakeLLM:
        # A short shutdown: a test may stop the fake while a scripted delay is pending.
        self._runner = web.AppRunner(self.make_app(), access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port, backlog=1024)
        await site.start()
        self.port = self._runner.addresses[0][1]
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeLLM:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # HTTP ------------------------------------------------------------------------------
    async def _chat(self, request: web.Request) -> web.Response:
        try:
            body = await request.json()
        except json.JSONDecodeError:
            return _error(400, "the body is not JSON")
        if not isinstance(body, dict) or not isinstance(body.get("messages"), list):
            return _error(400, "'messages' is required")
        record = _recorded(request, body)
        if self.record:
            self.requests.append(record)
            if len(self.requests) > self.max_records:  # a long benchmark keeps the latest
                del self.requests[: len(self.requests) - self.max_records]
        if problem := _auth_problem(request):
            return _error(401, problem, "invalid_api_key", status_type="auth")
        behaviour = self._behaviour(body)
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            delay = self.latency + float(behaviour.get("delay") or 0)
            if delay > 0:
                await asyncio.sleep(delay)
            response = self._respond(behaviour, body)
        finally:
            self.in_flight -= 1
        record["status"] = response.status
        record["request_id"] = response.headers.get("x-request-id")
        return response

    def _behaviour(self, body: dict[str, Any]) -> Behaviour:
        if self.client_rules:
            prompt = _user_prompt(body)
            if (match := _CLIENT.search(prompt)) and match.group(1).strip() in self.client_rules:
                return self.client_rules[match.group(1).strip()]
        return self._queue.popleft() if self._queue else (self._default or {})

    def _respond(self, behaviour: Behaviour, body: dict[str, Any]) -> web.Response:
        kind = behaviour.get("kind", "default")
        fmt = (body.get("response_format") or {}).get("type")
        rejected = self.rejected_formats | set(
            behaviour.get("formats", []) if kind == "reject_format" else []
        )
        if fmt in rejected:
            return _error(
                400,
                f"response_format of type '{fmt}' is not supported by this model",
                param="response_format",
            )
        if kind == "status":
            return _status_error(behaviour)
        if kind == "refuse":
            return self._completion(body, behaviour, None, refusal=behaviour["refusal"])
        if kind == "text":
            return self._completion(body, behaviour, behaviour["content"])
        if kind == "answer":
            email = {"subject": behaviour["subject"], "body": behaviour["body"]}
        elif kind == "obey":
            email = obedient_email(body)
        else:
            email = default_email(body)
        return self._completion(body, behaviour, json.dumps(email))

    def _completion(
        self,
        request: dict[str, Any],
        behaviour: Behaviour,
        content: str | None,
        *,
        refusal: str | None = None,
    ) -> web.Response:
        number = next(self._ids)
        self.completions += 1
        prompt_chars = sum(len(str(m.get("content") or "")) for m in request["messages"])
        prompt_tokens = max(1, prompt_chars // 4)
        usage = {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": max(1, len(content or refusal or "") // 4),
            "cached_tokens": prompt_tokens // 2,
            **(behaviour.get("usage") or {}),
        }
        payload = {
            "id": f"chatcmpl-fake{number}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": behaviour.get("model") or request.get("model") or "fake-model",
            "system_fingerprint": "fp_fake",
            "choices": [
                {
                    "index": 0,
                    "finish_reason": "stop",
                    "logprobs": None,
                    "message": {"role": "assistant", "content": content, "refusal": refusal},
                }
            ],
            "usage": {
                "prompt_tokens": usage["prompt_tokens"],
                "completion_tokens": usage["completion_tokens"],
                "total_tokens": usage["prompt_tokens"] + usage["completion_tokens"],
                "prompt_tokens_details": {"cached_tokens": usage["cached_tokens"]},
                "completion_tokens_details": {"reasoning_tokens": 0},
            },
        }
        return web.Response(
            body=json.dumps(payload).encode(),
            content_type="application/json",
            headers={"x-request-id": f"req_fake_{number}_{uuid.uuid4().hex[:12]}"},
        )

    async def _script(self, request: web.Request) -> web.Response:
        data = await request.json()
        self.script(
            data.get("behaviours", []),
            default=data.get("default"),
            append=bool(data.get("append", False)),
        )
        if "rejected_formats" in data:
            self.rejected_formats = set(data["rejected_formats"] or [])
        return web.json_response({"queued": self.pending})

    async def _requests(self, request: web.Request) -> web.Response:
        return web.json_response({"requests": self.requests})

    async def _counts(self, request: web.Request) -> web.Response:
        return web.json_response(
            {"completions": self.completions, "max_in_flight": self.max_in_flight}
        )

    async def _reset(self, request: web.Request) -> web.Response:
        self.reset()
        return web.json_response({"reset": True})

    async def _stats(self, request: web.Request) -> web.Response:
        return web.json_response({"in_flight": self.in_flight, "max_in_flight": self.max_in_flight})

    async def _reset_stats(self, request: web.Request) -> web.Response:
        self.max_in_flight = self.in_flight
        return web.json_response({"reset": True})


def _user_prompt(request: dict[str, Any]) -> str:
    return "\n".join(
        str(m.get("content") or "") for m in request["messages"] if m.get("role") == "user"
    )


def _auth_problem(request: web.Request) -> str | None:
    """None when the request authenticates the way its route expects."""
    if request.path.startswith("/openai/"):
        if not request.headers.get("api-key"):
            return "no api-key header"
        if not request.query.get("api-version"):
            return "no api-version query parameter"
        return None
    if not request.headers.get("Authorization", "").startswith("Bearer "):
        return "no API key provided"
    return None


def default_email(request: dict[str, Any]) -> dict[str, str]:
    """A plausible email built from the prompt: it greets the client by the first name
    the composer put in its user message."""
    prompt = _user_prompt(request)
    name = match.group(1).strip() if (match := _FIRST_NAME.search(prompt)) else "there"
    purpose = match.group(1).strip() if (match := _PURPOSE.search(prompt)) else "follow-up"
    return {
        "subject": f"Following up, {name}"[:120],
        "body": (
            f"Hi {name},\n\n"
            f"I wanted to reach out for our {purpose} check-in and see how things are going.\n\n"
            "If anything has changed in what you are looking for, I would love to hear it.\n\n"
            "Would you have 15 minutes this week for a quick call?"
        ),
    }


_FENCE = re.compile(r"<<<CLIENT_DATA\n(.*?)\nCLIENT_DATA>>>", re.DOTALL)


def obedient_email(request: dict[str, Any]) -> dict[str, str]:
    """What an injected model writes: the default email plus the client data verbatim, and
    the property line in the subject."""
    prompt = _user_prompt(request)
    fenced = match.group(1) if (match := _FENCE.search(prompt)) else ""
    values = [line.split(": ", 1)[-1] for line in fenced.splitlines()]
    email = default_email(request)
    prop = next((line[len("Property: ") :] for line in fenced.splitlines() if
                 line.startswith("Property: ")), "")  # fmt: skip
    return {
        "subject": f"{email['subject']} {prop}"[:120].strip(),
        "body": email["body"] + "\n\nAs you asked: " + "\n".join(values),
    }


def _recorded(request: web.Request, body: dict[str, Any]) -> dict[str, Any]:
    return {
        "path": request.path,
        "received_at": time.time(),
        "retry_count": request.headers.get("x-stainless-retry-count"),
        "has_api_key": request.headers.get("Authorization", "").startswith("Bearer ")
        or bool(request.headers.get("api-key")),
        "auth": "api-key" if request.headers.get("api-key") else "bearer",
        "query": dict(request.query),
        "body": body,
    }


def _error(
    status: int,
    message: str,
    code: str | None = None,
    *,
    param: str | None = None,
    status_type: str = "invalid_request_error",
    headers: dict[str, str] | None = None,
) -> web.Response:
    payload = {"error": {"message": message, "type": status_type, "param": param, "code": code}}
    return web.Response(
        status=status,
        body=json.dumps(payload).encode(),
        content_type="application/json",
        headers={"x-request-id": f"req_fake_err_{uuid.uuid4().hex[:12]}", **(headers or {})},
    )


def _status_error(behaviour: Behaviour) -> web.Response:
    status = int(behaviour.get("status", 500))
    headers = {}
    if behaviour.get("retry_after") is not None:
        headers["Retry-After"] = _number(behaviour["retry_after"])
    if behaviour.get("retry_after_ms") is not None:
        headers["retry-after-ms"] = _number(behaviour["retry_after_ms"])
    headers.update(behaviour.get("ratelimit_headers") or {})
    if status == 429:
        return _error(429, "Rate limit reached (fake)", "rate_limit_exceeded", headers=headers)
    return _error(status, f"The server had an error (fake HTTP {status})", headers=headers)


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


# --- as its own process --------------------------------------------------------------------


async def _serve(server: FakeLLM) -> None:
    await server.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    print(f"ready {server.base_url}", flush=True)
    try:
        await stop.wait()
    finally:
        await server.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="bench.fake_llm", description="OpenAI-compatible fake")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0: any free port")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds before answering")
    parser.add_argument(
        "--reject-format", action="append", default=[], help="response_format type to refuse"
    )
    parser.add_argument("--no-record", action="store_true", help="keep no request log")
    args = parser.parse_args(argv)
    server = FakeLLM(
        args.host,
        args.port,
        latency=args.latency,
        record=not args.no_record,
        rejected_formats=args.reject_format,
    )
    with contextlib.suppress(KeyboardInterrupt):
        try:
            import uvloop  # faster when installed (uvicorn[standard] brings it)
        except ImportError:
            asyncio.run(_serve(server))
        else:
            uvloop.run(_serve(server))


if __name__ == "__main__":
    main()
