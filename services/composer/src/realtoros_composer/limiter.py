"""Client-side rate limits: token buckets for requests and tokens per minute.

A provider's per-minute limits are enforced over short windows, so each bucket holds at
most one second's worth (at least one request, or one request's tokens) and refills
continuously. Tokens are estimated before a call and corrected with the usage the
provider reports after it: an under-estimate leaves the bucket in debt, which later
callers wait out.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence

from openai.types.chat import ChatCompletionMessageParam

BURST_SECONDS = 1.0
COMPLETION_ALLOWANCE = 400
"""Tokens reserved for the answer before the call (an email is rarely longer)."""

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]


class TokenBucket:
    def __init__(self, per_minute: int, clock: Clock = time.monotonic) -> None:
        self.rate = per_minute / 60.0
        self.capacity = max(1.0, self.rate * BURST_SECONDS)
        self._clock = clock
        self.level = self.capacity
        self._updated = clock()

    def _refill(self) -> None:
        now = self._clock()
        self.level = min(self.capacity, self.level + (now - self._updated) * self.rate)
        self._updated = now

    def wait_time(self, amount: float) -> float:
        """Seconds until ``amount`` can be taken (a request larger than the bucket waits
        for a full bucket)."""
        self._refill()
        needed = min(amount, self.capacity)
        return 0.0 if self.level >= needed else (needed - self.level) / self.rate

    def take(self, amount: float) -> None:
        self._refill()
        self.level -= amount

    def give_back(self, amount: float) -> None:
        self._refill()
        self.level = min(self.capacity, self.level + amount)


class RateLimiter:
    """``await acquire(tokens)`` before each call; ``settle(estimate, actual)`` after it.
    Waiters are served in arrival order (the lock), so none starves."""

    def __init__(
        self, rpm: int, tpm: int, clock: Clock = time.monotonic, sleep: Sleep = asyncio.sleep
    ) -> None:
        self.requests = TokenBucket(rpm, clock) if rpm > 0 else None
        self.tokens = TokenBucket(tpm, clock) if tpm > 0 else None
        self._sleep = sleep
        self._lock = asyncio.Lock()
        self.waited = 0.0
        """Seconds callers spent waiting, in total (for tests and metrics)."""

    @property
    def enabled(self) -> bool:
        return self.requests is not None or self.tokens is not None

    async def acquire(self, tokens: int) -> None:
        if not self.enabled:
            return
        async with self._lock:
            while (wait := self._wait_time(tokens)) > 0:
                self.waited += wait
                await self._sleep(wait)
            if self.requests is not None:
                self.requests.take(1)
            if self.tokens is not None:
                self.tokens.take(tokens)

    def settle(self, estimate: int, actual: int | None) -> None:
        if self.tokens is not None and actual is not None:
            self.tokens.give_back(estimate - actual)

    def _wait_time(self, tokens: int) -> float:
        waits = [0.0]
        if self.requests is not None:
            waits.append(self.requests.wait_time(1))
        if self.tokens is not None:
            waits.append(self.tokens.wait_time(tokens))
        return max(waits)


def estimate_tokens(messages: Sequence[ChatCompletionMessageParam]) -> int:
    """About four characters a token, plus the answer's allowance."""
    chars = sum(len(str(m.get("content") or "")) for m in messages)
    return chars // 4 + COMPLETION_ALLOWANCE
