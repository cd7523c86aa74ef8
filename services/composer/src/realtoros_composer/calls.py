"""One chat completion, made safely: within the concurrency bound and the rate limits,
retried on 429/5xx/timeouts with the delays the server asked for (``retrying``), measured.

The concurrency slot is held only while a request is in flight, never while waiting to
retry, so an email whose requests keep failing does not hold the others back.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from openai import (
    APIConnectionError,
    APIError,
    APIStatusError,
    APITimeoutError,
    AsyncOpenAI,
    Omit,
    RateLimitError,
)
from openai.types.chat import ChatCompletion, ChatCompletionMessageParam
from opentelemetry.trace import SpanKind

from realtoros_composer.limiter import RateLimiter, estimate_tokens
from realtoros_composer.metrics import ComposerMetrics
from realtoros_composer.retrying import retry_delay
from realtoros_runtime.telemetry import span

log = logging.getLogger(__name__)


class LlmCallError(Exception):
    """The call failed for good (not retryable, or out of attempts)."""

    def __init__(self, error: APIError, attempts: int) -> None:
        super().__init__(str(error))
        self.error = error
        self.attempts = attempts


def outcome_of(exc: APIError) -> str:
    if isinstance(exc, RateLimitError):
        return "rate_limited"
    if isinstance(exc, APITimeoutError):
        return "timeout"
    if isinstance(exc, APIConnectionError):
        return "connection_error"
    if isinstance(exc, APIStatusError):
        return "server_error" if exc.status_code >= 500 else "client_error"
    return "error"


def request_body(
    model: str, messages: list[ChatCompletionMessageParam], response_format: Any
) -> dict[str, Any]:
    """What ``chat.completions.create`` sends for these arguments. Passed to the client's
    ``post`` directly: ``create`` first walks the whole body through the SDK's transform
    of its TypedDicts (aliases and omitted values: none here), ~0.5 ms of CPU a call."""
    body: dict[str, Any] = {"model": model, "messages": messages}
    if not isinstance(response_format, Omit):
        body["response_format"] = response_format
    return body


class LlmCaller:
    def __init__(
        self,
        client: AsyncOpenAI,
        *,
        model: str,
        max_retries: int,
        max_concurrency: int,
        limiter: RateLimiter | None = None,
        metrics: ComposerMetrics | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._client = client
        self.model = model
        self._max_retries = max_retries
        self._semaphore = asyncio.Semaphore(max_concurrency)
        self._limiter = limiter or RateLimiter(0, 0)
        self._metrics = metrics or ComposerMetrics()
        self._sleep = sleep

    async def create(
        self, messages: list[ChatCompletionMessageParam], response_format: Any
    ) -> tuple[ChatCompletion, int]:
        """The completion and the number of HTTP requests it took."""
        estimate = estimate_tokens(messages)
        attempt = 0
        while True:
            attempt += 1
            await self._limiter.acquire(estimate)
            try:
                completion = await self._once(messages, response_format)
            except APIError as exc:
                self._limiter.settle(estimate, 0)
                delay = retry_delay(exc, attempt) if attempt <= self._max_retries else None
                if delay is None:
                    raise LlmCallError(exc, attempt) from exc
                log.info("LLM %s on attempt %d; retrying in %.2fs", outcome_of(exc), attempt, delay)
                await self._sleep(delay)
                continue
            usage = completion.usage
            self._limiter.settle(estimate, usage.total_tokens if usage else None)
            return completion, attempt

    async def _once(
        self, messages: list[ChatCompletionMessageParam], response_format: Any
    ) -> ChatCompletion:
        async with self._semaphore:
            started = time.monotonic()
            try:
                with span(  # a CLIENT span per LLM request, in the follow-up's trace
                    f"chat {self.model}",
                    kind=SpanKind.CLIENT,
                    **{"gen_ai.operation.name": "chat", "gen_ai.request.model": self.model},
                ):
                    completion = await self._client.post(
                        "/chat/completions",
                        body=request_body(self.model, messages, response_format),
                        cast_to=ChatCompletion,
                        options={"security": {"bearer_auth": True}},  # as create() has it
                    )
            except APIError as exc:
                self._metrics.request(self.model, outcome_of(exc), time.monotonic() - started)
                raise
        self._metrics.request(self.model, "ok", time.monotonic() - started)
        return completion
