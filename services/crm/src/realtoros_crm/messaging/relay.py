"""The outbox relay: publishes what the transactions wrote, then marks it published.

Several CRM replicas can run it at once (rows are locked with SKIP LOCKED), and a crash
between publishing and marking only causes a re-publish with the same ``Nats-Msg-Id``,
which JetStream drops.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from realtoros_crm.clock import Clock
from realtoros_crm.db import Sessions
from realtoros_crm.messaging.models import OutboxMessage
from realtoros_crm.messaging.outbox import WAKE_RELAY
from realtoros_runtime.publisher import EventPublisher

log = logging.getLogger(__name__)

MAX_BACKOFF = 10.0


async def lock_unpublished(session: AsyncSession, limit: int) -> Sequence[OutboxMessage]:
    statement = (
        select(OutboxMessage)
        .where(
            OutboxMessage.published_at.is_(None),
            or_(OutboxMessage.not_before.is_(None), OutboxMessage.not_before <= func.now()),
        )
        .order_by(OutboxMessage.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return (await session.scalars(statement)).all()


class OutboxRelay:
    """Publishes unpublished outbox rows in id order; woken after each commit that wrote
    some, and otherwise polling every ``poll_seconds``."""

    def __init__(
        self,
        sessions: Sessions,
        publisher: EventPublisher,
        clock: Clock,
        *,
        batch_size: int = 500,
        poll_seconds: float = 0.5,
    ) -> None:
        self._sessions = sessions
        self._publisher = publisher
        self._clock = clock
        self._batch_size = batch_size
        self._poll_seconds = poll_seconds
        self._wake = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None

    def wake(self) -> None:
        """Publish now: called after a transaction that wrote to the outbox commits."""
        self._wake.set()

    def wake_after_commits(self, sessions: Sessions) -> None:
        """Every session of ``sessions`` that writes to the outbox wakes the relay once it
        commits (``add_to_outbox``), so no caller has to."""
        sessions.configure(info={**sessions.kw.get("info", {}), WAKE_RELAY: self.wake})

    async def publish_batch(self) -> int:
        """Publish one batch; returns how many rows it took. Rows published before an error
        are still marked, and the error is raised after the commit."""
        error: Exception | None = None
        async with self._sessions() as session:
            rows = await lock_unpublished(session, self._batch_size)
            for row in rows:
                try:
                    await self._publisher.publish_raw(
                        row.subject, row.body, dict(row.headers), stream=row.stream
                    )
                except Exception as exc:
                    error = exc
                    break
                row.published_at = self._clock()
            await session.commit()
        if error is not None:
            raise error
        return len(rows)

    async def drain(self) -> None:
        """Publish until a batch comes back short."""
        while await self.publish_batch() >= self._batch_size:
            pass

    async def run(self) -> None:
        backoff = self._poll_seconds
        while not self._stopping:
            try:
                await self.drain()
                backoff = self._poll_seconds
            except Exception:
                log.exception("outbox relay failed; retrying in %.1fs", backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF)
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self._poll_seconds)
            self._wake.clear()

    def start(self) -> None:
        self._stopping = False
        self._task = asyncio.create_task(self.run(), name="crm-outbox-relay")

    async def stop(self, timeout: float = 10.0) -> None:
        """Let the batch in flight finish (bounded by ``timeout``), then stop."""
        task, self._task = self._task, None
        if task is None:
            return
        self._stopping = True
        self._wake.set()
        try:
            await asyncio.wait_for(task, timeout=timeout)
        except TimeoutError:
            log.warning("outbox relay did not stop in %.0fs; cancelled", timeout)
