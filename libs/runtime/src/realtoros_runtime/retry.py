"""How often and how long after a failure a message is tried again."""

from __future__ import annotations

import random
from collections import OrderedDict


class RetryPolicy:
    """Exponential backoff with jitter: bounded for errors, capped but endless for outages."""

    def __init__(
        self,
        max_deliveries: int = 5,
        base_delay: float = 1.0,
        max_delay: float = 60.0,
        max_transient_delay: float = 10.0,
    ) -> None:
        self.max_deliveries = max_deliveries
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.max_transient_delay = max_transient_delay

    def delay(self, delivered: int) -> float:
        return self._jittered(self.max_delay, delivered)

    def transient_delay(self, delivered: int) -> float:
        """Short at first, then at most ``max_transient_delay``: the wait after an outage
        ends is bounded by it."""
        return self._jittered(self.max_transient_delay, delivered)

    def _jittered(self, cap: float, delivered: int) -> float:
        ceiling = min(cap, self.base_delay * 2 ** min(30, max(0, delivered - 1)))
        return random.uniform(ceiling / 2, ceiling)


class FailureCounts:
    """How often this process saw each message fail for a reason that was not an outage,
    keyed by consumer and stream sequence; forgotten on success or dead letter, and the
    oldest first beyond ``limit`` (a forgotten count only means more tries)."""

    def __init__(self, limit: int = 10_000) -> None:
        self._counts: OrderedDict[tuple[str, int], int] = OrderedDict()
        self._limit = limit

    def add(self, key: tuple[str, int]) -> int:
        count = self._counts.pop(key, 0) + 1
        self._counts[key] = count
        while len(self._counts) > self._limit:
            self._counts.popitem(last=False)
        return count

    def __len__(self) -> int:
        return len(self._counts)

    def forget(self, key: tuple[str, int]) -> None:
        if self._counts:
            self._counts.pop(key, None)
