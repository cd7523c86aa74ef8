"""One send quota for the SES account, whatever the number of mailer replicas.

Every replica draws from one token bucket in NATS KV (``realtoros_runtime.shared_bucket``)
at the account's maximum send rate, so N replicas together never exceed it and one
replica alone can use all of it. The rate is SES's own (``GetAccount`` →
``SendQuota.MaxSendRate``), read at start and every ``SES_QUOTA_REFRESH_SECONDS``: when
AWS raises the quota the mailers follow without a redeploy. Where the account cannot be
read (the file and SMTP transports, an SES endpoint without the call, no permission),
``SES_MAX_SEND_RATE`` is the rate.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from nats.js import JetStreamContext

from realtoros_contracts import Namespace
from realtoros_runtime.shared_bucket import SharedTokenBucket, open_rate_limits

log = logging.getLogger(__name__)

RateReader = Callable[[], Awaitable[float | None]]
"""The account's current maximum send rate per second, or None when it cannot be read."""

KEY = "ses-send"


class SendQuota:
    """``await acquire()`` before each send; the rate follows the account's quota."""

    def __init__(
        self,
        ns: Namespace,
        *,
        fallback_rate: float,
        read_rate: RateReader | None = None,
        refresh_seconds: float = 300.0,
    ) -> None:
        self._ns = ns
        self._fallback = fallback_rate
        self._read_rate = read_rate
        self._refresh_seconds = refresh_seconds
        self._bucket: SharedTokenBucket | None = None
        self._refresher: asyncio.Task[None] | None = None
        self.source = "setting"
        """Where the rate came from: ``ses`` (GetAccount) or ``setting``."""

    @property
    def rate(self) -> float:
        return self._bucket.rate if self._bucket is not None else self._fallback

    async def open(self, js: JetStreamContext) -> None:
        kv = await open_rate_limits(js, self._ns)
        self._bucket = SharedTokenBucket(kv, KEY, rate=await self._current_rate())
        if self._read_rate is not None:
            self._refresher = asyncio.create_task(self._refresh_forever())

    async def close(self) -> None:
        if self._refresher is not None:
            self._refresher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._refresher
            self._refresher = None

    async def acquire(self) -> None:
        if self._bucket is None:
            raise RuntimeError("the send quota is not open yet")
        await self._bucket.take(1)

    async def _current_rate(self) -> float:
        rate = None
        if self._read_rate is not None:
            try:
                rate = await self._read_rate()
            except Exception as exc:  # any failure: keep sending at the last known rate
                log.warning("cannot read the SES send quota: %r", exc)
                return self.rate
        self.source = "setting" if rate is None else "ses"
        return self._fallback if rate is None else rate

    async def _refresh_forever(self) -> None:
        while True:
            await asyncio.sleep(self._refresh_seconds)
            rate = await self._current_rate()
            if self._bucket is not None and rate != self._bucket.rate:
                log.info("SES send quota: %.2f/s -> %.2f/s", self._bucket.rate, rate)
                self._bucket.set_rate(rate)
