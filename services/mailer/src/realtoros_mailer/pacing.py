"""How fast the mailer may send, and whether it may send at all.

* the rate: :class:`realtoros_mailer.quota.SendQuota`, one token bucket in NATS KV at
  the account's maximum send rate, shared by every replica.
* :class:`SendingPause` — set when SES says the daily quota is used up or the account's
  sending is paused/suspended. While it lasts no email is attempted: deliveries are nacked
  with a delay (not failed), ``/readyz`` reports it and the ``mailer_sending_paused``
  gauge is 1. After the pause the next send probes SES again.
"""

from __future__ import annotations

import time
from collections.abc import Callable


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
