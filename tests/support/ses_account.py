"""An SES v2 stand-in with an account quota, for the shared-quota tests.

moto's sesv2 has no ``GetAccount`` (its v1 has ``GetSendQuota``), and it is too slow to
measure a send rate against. This answers the two calls the mailer makes, over HTTP on
the test's event loop:

* ``GET /v2/email/account`` — ``SendQuota.MaxSendRate`` (changeable: :meth:`raise_quota`);
* ``POST /v2/email/outbound-emails`` — records the time of each send and, as SES does,
  throttles (429 ``TooManyRequestsException``) a sender above the maximum rate: a token
  bucket at the rate holding one second of sends.

Usage::

    async with SesAccount(max_send_rate=8) as ses:
        ... MAIL_TRANSPORT=ses, SES_ENDPOINT_URL=ses.url ...
        ses.sent_at, ses.throttled
"""

from __future__ import annotations

import itertools
import time
import uuid
from types import TracebackType

from aiohttp import web


class SesAccount:
    def __init__(self, max_send_rate: float, burst_seconds: float = 1.0) -> None:
        self.max_send_rate = max_send_rate
        self._burst_seconds = burst_seconds
        self._level = max_send_rate * burst_seconds
        self._updated = time.monotonic()
        self.sent_at: list[float] = []
        """time.monotonic() of each accepted send, in order."""
        self.throttled = 0
        self.account_reads = 0
        self._ids = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self.url = ""

    def raise_quota(self, max_send_rate: float) -> None:
        """AWS raised the account's maximum send rate."""
        self.max_send_rate = max_send_rate

    async def __aenter__(self) -> SesAccount:
        app = web.Application()
        app.router.add_get("/v2/email/account", self._get_account)
        app.router.add_post("/v2/email/outbound-emails", self._send_email)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}"
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def max_in_window(self, seconds: float) -> int:
        """The most sends SES accepted within any ``seconds``-long window."""
        most, start = 0, 0
        for end, at in enumerate(self.sent_at):
            while at - self.sent_at[start] >= seconds:
                start += 1
            most = max(most, end - start + 1)
        return most

    def rate_between(self, first: int, last: int) -> float:
        """Sends per second from send number ``first`` to ``last`` (inclusive)."""
        return (last - first) / (self.sent_at[last] - self.sent_at[first])

    async def _get_account(self, request: web.Request) -> web.Response:
        self.account_reads += 1
        quota = {
            "Max24HourSend": 200_000.0,
            "MaxSendRate": self.max_send_rate,
            "SentLast24Hours": float(len(self.sent_at)),
        }
        body = {
            "SendQuota": quota,
            "SendingEnabled": True,
            "ProductionAccessEnabled": True,
            "EnforcementStatus": "HEALTHY",
        }
        return web.json_response(body)

    async def _send_email(self, request: web.Request) -> web.Response:
        await request.read()
        now = time.monotonic()
        capacity = self.max_send_rate * self._burst_seconds
        self._level = min(capacity, self._level + (now - self._updated) * self.max_send_rate)
        self._updated = now
        if self._level < 1:
            self.throttled += 1
            return web.json_response(
                {"message": "Maximum sending rate exceeded."},
                status=429,
                headers={"x-amzn-ErrorType": "TooManyRequestsException"},
            )
        self._level -= 1
        self.sent_at.append(now)
        return web.json_response({"MessageId": f"{next(self._ids):010d}-{uuid.uuid4()}"})
