"""A token bucket shared by every replica of a service, kept in one NATS KV key.

The key holds ``{"level": tokens, "at": unix time}``. A replica takes tokens by reading
the key, refilling the level for the time since ``at`` at ``rate`` per second (never
above ``capacity``), and writing the lowered level back with compare-and-set
(``update(last=revision)``): two replicas that read the same revision cannot both win,
the loser reads again. So N replicas together never take more than ``capacity + rate*t``
tokens in any ``t`` seconds, and one replica alone can take all of them.

A round trip per token would cost more than the send it guards, so a replica takes a
*batch* (up to ``batch`` tokens, what the bucket has) and hands them out locally. Tokens
held locally expire after ``hold`` seconds: a replica that stops sending cannot save them
up for a burst later. The clocks of the replicas take part (``at`` is wall time): NTP's
milliseconds of skew are nothing against a refill of a second.

The rate can change while running (:meth:`set_rate`, e.g. when SES raises the quota).
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from nats.js import JetStreamContext
from nats.js.errors import KeyNotFoundError, KeyWrongLastSequenceError
from nats.js.kv import KeyValue

from realtoros_contracts import Namespace
from realtoros_runtime.buckets import open_bucket

log = logging.getLogger(__name__)

EPSILON = 1e-6
"""Token amounts closer than this are equal (float arithmetic of refills)."""

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]


@dataclass
class _Held:
    tokens: float = 0.0
    until: float = 0.0


class SharedTokenBucket:
    """``await take(n)`` waits until ``n`` tokens of the shared bucket are this replica's."""

    def __init__(
        self,
        kv: KeyValue,
        key: str,
        *,
        rate: float,
        burst_seconds: float = 0.5,
        batch_seconds: float = 0.1,
        hold: float = 1.0,
        clock: Clock = time.time,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self._kv = kv
        self.key = key
        self._burst_seconds = burst_seconds
        self._batch_seconds = batch_seconds
        self._hold = hold
        self._clock = clock
        self._sleep = sleep
        self._held = _Held()
        self._lock = asyncio.Lock()
        self.round_trips = 0
        self.set_rate(rate)

    def set_rate(self, rate: float) -> None:
        """Tokens per second from now on (every replica should be told the same)."""
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = rate
        self.capacity = max(1.0, rate * self._burst_seconds)
        self.batch = max(1.0, min(self.capacity, rate * self._batch_seconds))

    async def take(self, amount: float = 1.0) -> None:
        """Wait for ``amount`` tokens (more than the capacity waits for a full bucket and
        leaves the bucket in debt, which later takers wait out)."""
        async with self._lock:  # local takers in arrival order
            while not self._take_held(amount):
                wait = await self._draw(amount - self._held.tokens)
                if wait > 0:
                    await self._sleep(wait)

    def give_back(self, amount: float) -> None:
        """Tokens taken but not used (an estimate above the actual): kept locally."""
        if amount > 0:
            self._held.tokens += amount
            self._held.until = self._clock() + self._hold

    def _take_held(self, amount: float) -> bool:
        if self._clock() > self._held.until:
            self._held = _Held()
        if self._held.tokens + EPSILON < amount:
            return False
        self._held.tokens = max(0.0, self._held.tokens - amount)
        return True

    async def _draw(self, needed: float) -> float:
        """One compare-and-set attempt: move up to a batch (at least ``needed``) from the
        shared bucket to this replica. Returns how long to wait before trying again."""
        revision, level, now = await self._read()
        want = max(needed, self.batch)
        # Wait for a whole batch, not one token: takers on an empty bucket would otherwise
        # each win a single token per round trip.
        enough = min(want, self.capacity)
        if level + EPSILON < enough:
            # Jitter, so replicas waiting for the same refill do not all race for it.
            return max(0.001, (enough - level) / self.rate) * random.uniform(1.0, 1.5)
        grant = min(want, max(level, enough))  # (a level short of it by a rounding error)
        if needed > self.capacity:
            grant = needed  # an oversized request: take it all, the bucket goes into debt
        state = json.dumps({"level": level - grant, "at": now}).encode()
        self.round_trips += 1
        try:
            if revision is None:
                await self._kv.create(self.key, state)
            else:
                await self._kv.update(self.key, state, last=revision)
        except KeyWrongLastSequenceError:
            return 0.0  # another replica took tokens in between: read again
        self._held.tokens += grant
        self._held.until = now + self._hold
        return 0.0

    async def _read(self) -> tuple[int | None, float, float]:
        """The key's revision (None: no key yet) and its level refilled up to now."""
        self.round_trips += 1
        now = self._clock()
        try:
            entry = await self._kv.get(self.key)
        except KeyNotFoundError:
            return None, self.capacity, now
        try:
            state = json.loads(entry.value or b"{}")
            level, at = float(state["level"]), float(state["at"])
        except (ValueError, KeyError, TypeError):
            log.warning("shared bucket %s: unreadable state, starting full", self.key)
            return entry.revision, self.capacity, now
        refilled = min(self.capacity, level + max(0.0, now - at) * self.rate)
        return entry.revision, refilled, now


async def open_rate_limits(js: JetStreamContext, ns: Namespace) -> KeyValue:
    """The bucket of the shared token buckets (one key each: ``ses-send``, ``llm-…``)."""
    return await open_bucket(
        js,
        ns.bucket("rate_limits"),
        "Token buckets shared by every replica (SES send rate, LLM limits).",
        replicas=ns.replicas,
    )
