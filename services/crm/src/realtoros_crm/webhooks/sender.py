"""One signed POST to one endpoint (Standard Webhooks: ``webhook-id``,
``webhook-timestamp``, ``webhook-signature``, signed by the ``standardwebhooks`` package).
No redirects followed, a total time limit, no proxy from the environment, the SSRF guard
on every connection; the response body is not read."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

import aiohttp
from standardwebhooks import Webhook

from realtoros_crm.webhooks.guard import (
    BlockedAddress,
    GuardedResolver,
    address_allowed,
    literal_address,
)

USER_AGENT = "RealtorOS-Webhooks/1.0"


@dataclass(frozen=True)
class Outcome:
    ok: bool
    status_code: int | None
    error: str | None


class WebhookSender:
    def __init__(self, *, timeout_seconds: float, allow_loopback: bool) -> None:
        self._timeout = aiohttp.ClientTimeout(total=timeout_seconds)
        self._allow_loopback = allow_loopback
        self._http: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        connector = aiohttp.TCPConnector(
            resolver=GuardedResolver(allow_loopback=self._allow_loopback),
            use_dns_cache=False,  # every connection resolves, and is checked, again
            limit=100,
        )
        self._http = aiohttp.ClientSession(
            connector=connector, timeout=self._timeout, trust_env=False, cookie_jar=None
        )

    async def close(self) -> None:
        if self._http is not None:
            await self._http.close()

    async def send(
        self, url: str, secret: str, webhook_id: str, body: bytes, now: datetime
    ) -> Outcome:
        assert self._http is not None, "start() the sender first"
        literal = literal_address(urlsplit(url).hostname or "")
        # A literal address never goes through the resolver: checked here.
        if literal is not None and not address_allowed(
            literal, allow_loopback=self._allow_loopback
        ):
            return Outcome(False, None, "the address is not allowed (private or loopback)")
        signature = Webhook(secret).sign(webhook_id, now, body.decode())
        headers = {
            "content-type": "application/json",
            "user-agent": USER_AGENT,
            "webhook-id": webhook_id,
            "webhook-timestamp": str(int(now.timestamp())),
            "webhook-signature": signature,
        }
        try:
            async with self._http.post(
                url, data=body, headers=headers, allow_redirects=False
            ) as response:
                code = response.status
        except TimeoutError:
            return Outcome(False, None, f"timed out after {self._timeout.total:g} s")
        except aiohttp.ClientConnectorError as exc:
            if isinstance(exc.os_error, BlockedAddress):
                return Outcome(False, None, str(exc.os_error))
            return Outcome(False, None, f"{type(exc).__name__}: {exc}"[:500])
        except aiohttp.ClientError as exc:
            return Outcome(False, None, f"{type(exc).__name__}: {exc}"[:500])
        if 200 <= code < 300:
            return Outcome(True, code, None)
        reason = "a redirect (not followed)" if 300 <= code < 400 else f"HTTP {code}"
        return Outcome(False, code, reason)
