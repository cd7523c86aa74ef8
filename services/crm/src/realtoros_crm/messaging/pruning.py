"""Bookkeeping that must not grow forever, deleted on a schedule (every CRM replica runs
the loop; ``SKIP LOCKED`` lets them share the work without waiting on each other):

* outbox rows published more than ``PRUNE_OUTBOX_AFTER_HOURS`` ago: a published row is
  never read again (JetStream has the event; its de-duplication window is minutes);
* inbox rows older than the de-duplication horizon: a redelivery can only come while its
  stream still holds the event (``EVENT_MAX_AGE``), so a day past that nothing can be a
  duplicate of them;
* refresh tokens expired a day ago, and login failures older than a day (the sign-in
  throttle looks back minutes);
* webhook deliveries delivered or given up more than ``PRUNE_WEBHOOK_DELIVERIES_AFTER_DAYS``
  (30) ago: the agent's delivery log and its replays reach that far back; a pending one is
  never deleted. Its other use, one delivery per endpoint and event (the unique key), needs
  it only while the event can be redelivered, which the inbox horizon bounds (8 days);
* a lead source's ids of clients deleted more than ``PRUNE_LEAD_IDS_AFTER_DAYS`` (30) ago:
  intake never matches a deleted client by them (a repost creates a new client and moves
  the id to it), so they serve only a client restored in that time. Ids of live clients
  are what makes a repost update instead of duplicate: they are kept as long as the client.

Deletion, not partitioning: measured (bench/prunebench.py, docs/capacity.md), the hot
queries use indexes that old rows do not slow down — the relay's partial index on
unpublished rows, the inbox primary key —, so the cost of old rows is their storage, and
deleting them in small batches keeps the tables at a steady size with autovacuum.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from realtoros_contracts import EVENT_MAX_AGE
from realtoros_crm.clock import Clock
from realtoros_crm.db import Sessions

log = logging.getLogger(__name__)

INBOX_HORIZON = timedelta(seconds=EVENT_MAX_AGE) + timedelta(days=1)

# One statement per table: the oldest batch of deletable rows, skipping rows another
# replica is deleting. :cutoff is the newest time a row may have to be deleted.
STATEMENTS = {
    "outbox": "DELETE FROM outbox WHERE id IN (SELECT id FROM outbox "
    "WHERE published_at < :cutoff ORDER BY id LIMIT :limit FOR UPDATE SKIP LOCKED)",
    "inbox": "DELETE FROM inbox WHERE ctid IN (SELECT ctid FROM inbox "
    "WHERE processed_at < :cutoff ORDER BY processed_at LIMIT :limit FOR UPDATE SKIP LOCKED)",
    "refresh_tokens": "DELETE FROM refresh_tokens WHERE id IN (SELECT id FROM refresh_tokens "
    "WHERE expires_at < :cutoff LIMIT :limit FOR UPDATE SKIP LOCKED)",
    "login_failures": "DELETE FROM login_failures WHERE id IN (SELECT id FROM login_failures "
    "WHERE failed_at < :cutoff LIMIT :limit FOR UPDATE SKIP LOCKED)",
    "webhook_deliveries": "DELETE FROM webhook_deliveries WHERE id IN (SELECT id FROM "
    "webhook_deliveries WHERE status <> 'pending' AND created_at < :cutoff "
    "AND COALESCE(delivered_at, last_attempt_at, created_at) < :cutoff "
    "LIMIT :limit FOR UPDATE SKIP LOCKED)",
    "client_lead_ids": "DELETE FROM client_lead_ids WHERE ctid IN (SELECT l.ctid FROM "
    "client_lead_ids l JOIN clients c ON c.id = l.client_id WHERE c.deleted_at < :cutoff "
    "LIMIT :limit FOR UPDATE OF l SKIP LOCKED)",
}


@dataclass(frozen=True)
class Horizons:
    """How long each kind of row is kept after it stops mattering."""

    outbox: timedelta = timedelta(hours=24)
    inbox: timedelta = INBOX_HORIZON
    refresh_tokens: timedelta = timedelta(days=1)
    login_failures: timedelta = timedelta(days=1)
    webhook_deliveries: timedelta = timedelta(days=30)
    client_lead_ids: timedelta = timedelta(days=30)

    def cutoffs(self, now: datetime) -> dict[str, datetime]:
        return {table: now - getattr(self, table) for table in STATEMENTS}


async def prune_batch(session: AsyncSession, table: str, cutoff: datetime, limit: int) -> int:
    result = await session.execute(text(STATEMENTS[table]), {"cutoff": cutoff, "limit": limit})
    return int(result.rowcount)  # type: ignore[attr-defined]


class Pruner:
    """Every ``interval`` seconds, deletes what :class:`Horizons` allows, batch by batch
    (one short transaction each, so no lock is held for long)."""

    def __init__(
        self,
        sessions: Sessions,
        clock: Clock,
        *,
        horizons: Horizons | None = None,
        interval: float = 300.0,
        batch_size: int = 5000,
    ) -> None:
        self._sessions = sessions
        self._clock = clock
        self._horizons = horizons or Horizons()
        self._interval = interval
        self._batch_size = batch_size
        self._task: asyncio.Task[None] | None = None

    async def prune(self) -> dict[str, int]:
        """One pass over every table; how many rows each lost."""
        deleted: dict[str, int] = {}
        for table, cutoff in self._horizons.cutoffs(self._clock()).items():
            deleted[table] = 0
            while True:
                async with self._sessions() as session, session.begin():
                    count = await prune_batch(session, table, cutoff, self._batch_size)
                deleted[table] += count
                if count < self._batch_size:
                    break
        return deleted

    async def run(self) -> None:
        while True:
            try:
                deleted = await self.prune()
                if any(deleted.values()):
                    log.info("pruned %s", ", ".join(f"{t} {n}" for t, n in deleted.items()))
            except Exception:  # PostgreSQL away: the next pass catches up
                log.exception("pruning failed; next pass in %.0fs", self._interval)
            await asyncio.sleep(self._interval)

    def start(self) -> None:
        self._task = asyncio.create_task(self.run(), name="crm-pruner")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
