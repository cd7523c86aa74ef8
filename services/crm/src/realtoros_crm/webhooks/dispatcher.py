"""Sending the queued deliveries: claim the due ones (``FOR UPDATE SKIP LOCKED``, so CRM
replicas share the work), lease them for longer than a send can take, send, record.

- A 2xx answer delivers. Anything else (an error status, a redirect, a timeout, a refused
  or forbidden address) is a failed attempt, retried with exponential backoff
  (``RetryPolicy``: by default 11 attempts over ~36 hours) until the attempts run out.
- A crash between sending and recording sends again after the lease, with the same
  ``webhook-id``: delivery is at least once, and receivers de-duplicate by that id.
- An endpoint that has failed without a single success for ``disable_after`` is disabled,
  with the reason, which the agent sees on the dashboard and the Integrations page; its
  waiting deliveries go when the agent enables it again."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select

from realtoros_crm.clock import Clock
from realtoros_crm.db import Sessions
from realtoros_crm.settings import CrmSettings
from realtoros_crm.webhooks.models import WebhookDelivery, WebhookEndpoint
from realtoros_crm.webhooks.schemas import webhook_id
from realtoros_crm.webhooks.sender import Outcome, WebhookSender

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RetryPolicy:
    base_seconds: float
    factor: float
    max_delay_seconds: float
    max_attempts: int
    disable_after: timedelta

    @classmethod
    def of(cls, settings: CrmSettings) -> RetryPolicy:
        return cls(
            settings.webhook_retry_base_seconds,
            settings.webhook_retry_factor,
            settings.webhook_retry_max_delay_seconds,
            settings.webhook_max_attempts,
            timedelta(seconds=settings.webhook_disable_after_seconds),
        )

    def delay_after(self, attempts: int, jitter: float = 1.0) -> timedelta:
        """The wait after the ``attempts``-th failure (``jitter`` ≥ 1 spreads retries)."""
        exponential = self.base_seconds * self.factor ** (attempts - 1)
        return timedelta(seconds=min(exponential, self.max_delay_seconds) * jitter)

    def span(self) -> timedelta:
        """From the first attempt to the last, without jitter."""
        return sum((self.delay_after(n) for n in range(1, self.max_attempts)), timedelta())


@dataclass(frozen=True)
class Claimed:
    delivery_id: uuid.UUID
    endpoint_id: uuid.UUID
    url: str
    secret: str
    payload: bytes


class WebhookDispatcher:
    def __init__(
        self,
        sessions: Sessions,
        clock: Clock,
        sender: WebhookSender,
        policy: RetryPolicy,
        *,
        poll_seconds: float,
        concurrency: int,
        lease: timedelta,
    ) -> None:
        self._sessions, self._clock, self._sender = sessions, clock, sender
        self._policy, self._poll, self._concurrency = policy, poll_seconds, concurrency
        self._lease = lease
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def wake(self) -> None:
        self._wake.set()

    async def dispatch_due(self) -> int:
        """Send one batch of due deliveries; returns how many were attempted."""
        claimed = await self._claim()
        await asyncio.gather(*(self._deliver(item) for item in claimed))
        return len(claimed)

    async def _claim(self) -> list[Claimed]:
        now = self._clock()
        async with self._sessions() as session, session.begin():
            statement = (
                select(WebhookDelivery, WebhookEndpoint)
                .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
                .where(
                    WebhookDelivery.status == "pending",
                    WebhookDelivery.next_attempt_at <= now,
                    WebhookEndpoint.enabled.is_(True),
                )
                .order_by(WebhookDelivery.next_attempt_at)
                .limit(self._concurrency)
                .with_for_update(of=WebhookDelivery, skip_locked=True)
            )
            rows = (await session.execute(statement)).all()
            for delivery, _ in rows:
                delivery.next_attempt_at = now + self._lease
        return [Claimed(d.id, e.id, e.url, e.secret, d.payload) for d, e in rows]

    async def _deliver(self, item: Claimed) -> None:
        outcome = await self._sender.send(
            item.url, item.secret, webhook_id(item.delivery_id), item.payload, self._clock()
        )
        async with self._sessions() as session, session.begin():
            endpoint = await session.get(WebhookEndpoint, item.endpoint_id, with_for_update=True)
            delivery = await session.get(WebhookDelivery, item.delivery_id, with_for_update=True)
            if endpoint is not None and delivery is not None:  # else deleted meanwhile
                record_attempt(delivery, endpoint, outcome, self._clock(), self._policy)

    async def run(self) -> None:
        while True:
            try:
                if await self.dispatch_due():
                    continue
            except Exception:
                log.exception("webhook dispatch failed; retrying")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self._poll)
            self._wake.clear()

    async def start(self) -> None:
        await self._sender.start()
        self._task = asyncio.create_task(self.run(), name="crm-webhook-dispatcher")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()  # a send cut short is sent again after its lease
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self._sender.close()


def record_attempt(
    delivery: WebhookDelivery,
    endpoint: WebhookEndpoint,
    outcome: Outcome,
    now: datetime,
    policy: RetryPolicy,
) -> None:
    delivery.attempts += 1
    delivery.last_attempt_at, delivery.last_status_code = now, outcome.status_code
    delivery.last_error = outcome.error
    if outcome.ok:
        delivery.status, delivery.delivered_at = "delivered", now
        endpoint.failing_since = None
        return
    if delivery.attempts >= policy.max_attempts:
        delivery.status = "failed"
    else:
        delivery.next_attempt_at = now + policy.delay_after(
            delivery.attempts, random.uniform(1.0, 1.2)
        )
    endpoint.failing_since = endpoint.failing_since or now
    if endpoint.enabled and now - endpoint.failing_since >= policy.disable_after:
        endpoint.enabled, endpoint.disabled_at = False, now
        endpoint.disabled_reason = (
            f"Disabled automatically: every delivery has failed since "
            f"{endpoint.failing_since:%Y-%m-%d %H:%M} UTC (last: {outcome.error})."
        )
        log.warning(
            "webhook endpoint %s disabled: failing since %s", endpoint.id, endpoint.failing_since
        )
