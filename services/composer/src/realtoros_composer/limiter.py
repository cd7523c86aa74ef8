"""Client-side rate limits: token buckets for requests and tokens per minute.

A provider's per-minute limits are the account's, whatever the number of composer
replicas, and are enforced over short windows: each bucket (one in NATS KV, shared by
every replica) holds at most one second's worth and refills continuously. Tokens are
estimated before a call and corrected with the usage the provider reports after it: an
under-estimate is a debt the replica pays at its next call.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence

from nats.js import JetStreamContext
from nats.js.kv import KeyValue
from openai.types.chat import ChatCompletionMessageParam

from realtoros_contracts import Namespace
from realtoros_runtime.shared_bucket import SharedTokenBucket, open_rate_limits

BURST_SECONDS = 1.0
COMPLETION_ALLOWANCE = 400
"""Tokens reserved for the answer before the call (an email is rarely longer)."""

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]


class RateLimiter:
    """``await acquire(tokens)`` before each call; ``settle(estimate, actual)`` after it.

    The limits are the account's, shared by every composer replica: two token buckets in
    NATS KV (:mod:`realtoros_runtime.shared_bucket`), opened with :meth:`open`. A call
    that used more tokens than estimated leaves a debt this replica pays at its next
    acquire; one that used fewer gives the rest back to this replica."""

    def __init__(
        self, rpm: int, tpm: int, clock: Clock = time.time, sleep: Sleep = asyncio.sleep
    ) -> None:
        self.rpm, self.tpm = rpm, tpm
        self._clock, self._sleep = clock, sleep
        self.requests: SharedTokenBucket | None = None
        self.tokens: SharedTokenBucket | None = None
        self._debt = 0.0

    @property
    def enabled(self) -> bool:
        return self.rpm > 0 or self.tpm > 0

    async def open(self, js: JetStreamContext, ns: Namespace) -> None:
        if not self.enabled:
            return
        kv = await open_rate_limits(js, ns)
        if self.rpm > 0:
            self.requests = self._bucket(kv, "llm-requests", self.rpm)
        if self.tpm > 0:
            self.tokens = self._bucket(kv, "llm-tokens", self.tpm)

    def _bucket(self, kv: KeyValue, key: str, per_minute: int) -> SharedTokenBucket:
        return SharedTokenBucket(
            kv,
            key,
            rate=per_minute / 60.0,
            burst_seconds=BURST_SECONDS,
            clock=self._clock,
            sleep=self._sleep,
        )

    async def acquire(self, tokens: int) -> None:
        if not self.enabled:
            return
        if self.requests is None and self.tokens is None:
            raise RuntimeError("the LLM rate limits are not open yet")
        if self.requests is not None:
            await self.requests.take(1)
        if self.tokens is not None:
            debt, self._debt = self._debt, 0.0
            await self.tokens.take(tokens + debt)

    def settle(self, estimate: int, actual: int | None) -> None:
        if self.tokens is None or actual is None:
            return
        if actual > estimate:
            self._debt += actual - estimate
        else:
            self.tokens.give_back(estimate - actual)


def estimate_tokens(messages: Sequence[ChatCompletionMessageParam]) -> int:
    """About four characters a token, plus the answer's allowance."""
    chars = sum(len(str(m.get("content") or "")) for m in messages)
    return chars // 4 + COMPLETION_ALLOWANCE
