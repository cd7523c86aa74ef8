"""How fast the mailer may send, and whether it may send at all.

* :class:`RateLimiter` — a token bucket at the account's maximum send rate. It is per
  process: with N replicas, give each ``SES_MAX_SEND_RATE`` = account rate / N (the KEDA
  scaler in deploy/ caps N). A KV-shared limiter would cost a NATS round trip per email
  and still not be exact; SES throttling that slips through is retried anyway.
* :class:`SendingPause` — set when SES says the daily quota is used up or the account's
  sending is paused/suspended. While it lasts no email is attempted: deliveries are nacked
  with a delay (not failed), ``/readyz`` reports it and the ``mailer_sending_paused``
  gauge is 1. After the pause the next send probes SES again.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable


class RateLimiter:
    """At most ``rate`` acquisitions per second on average, bursts of up to ``rate``."""

    def __init__(self, rate: float, clock: Callable[[], float] = time.monotonic) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = rate
        self.capacity = max(1.0, rate)
        self._tokens = self.capacity
        self._clock = clock
        self._last = clock()
        self._lock = asyncio.Lock()

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self.capacity, self._tokens + (now - self._last) * self.rate)
        self._last = now

    async def acquire(self) -> None:
        # One waiter at a time, so tokens go out in arrival order.
        async with self._lock:
            while True:
                self._refill()
                if self._tokens >= 1:
                    self._tokens -= 1
                    return
                await asyncio.sleep((1 - self._tokens) / self.rate)


class SendingPause:
    """Whether SES told us to stop sending, why, and for how much longer."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._until = 0.0
        self.reason: str | None = None

    def pause(self, reason: str, seconds: float) -> None:
        self._until = max(self._until, self._clock() + seconds)
        self.reason = reason

    def remaining(self) -> float:
        """Seconds left, or 0 when sending may go on."""
        left = self._until - self._clock()
        if left <= 0:
            self.reason = None
            return 0.0
        return left

    @property
    def active(self) -> bool:
        return self.remaining() > 0


class PausedError(Exception):
    """Sending is paused: retry this delivery after ``delay`` seconds (never a failure)."""

    def __init__(self, reason: str, delay: float) -> None:
        super().__init__(reason)
        self.reason = reason
        self.delay = delay
