"""On every scheduler tick, claim the due tasks batch by batch (the tick is the entrypoint:
it owns the transactions)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from faststream.nats.annotations import NatsMessage

from realtoros_contracts import SchedulerTick
from realtoros_crm.claims.probe import anything_due
from realtoros_crm.claims.service import ClaimResult, claim_batch
from realtoros_crm.claims.taskdue import ClaimContext
from realtoros_crm.clock import Clock
from realtoros_crm.db import Sessions
from realtoros_runtime.bus import Bus
from realtoros_runtime.consuming import envelope_of

log = logging.getLogger(__name__)

TICKS_DURABLE = "crm-ticks"


@dataclass
class Claimer:
    sessions: Sessions
    clock: Clock
    ctx: ClaimContext
    batch_size: int
    on_commit: Callable[[], None] = lambda: None
    """Called after each batch that wrote to the outbox commits (wakes the relay)."""

    async def claim_due_tasks(self) -> ClaimResult:
        """Claim batches until one comes back short; one transaction per batch. A tick with
        nothing due (most of them) costs one index read (claims/probe.py)."""
        total = ClaimResult()
        if not await anything_due(self.sessions, self.clock()):
            return total
        while True:
            async with self.sessions() as session, session.begin():
                batch = await claim_batch(
                    session, now=self.clock(), limit=self.batch_size, ctx=self.ctx
                )
            if batch.claimed:
                self.on_commit()
            total.claimed += batch.claimed
            total.skipped += batch.skipped
            total.failed += batch.failed
            total.deferred += batch.deferred
            if batch.selected < self.batch_size:
                return total


def subscribe_ticks(bus: Bus, claimer: Claimer) -> None:
    claimed = bus.metrics.counter(
        "tasks_claimed", "Due follow-up tasks claimed (their TaskDue queued)."
    )
    claim_failed = bus.metrics.counter(
        "tasks_claim_failed", "Due tasks that could not be claimed (marked failed)."
    )

    async def on_tick_claim_due_tasks(event: SchedulerTick, msg: NatsMessage) -> None:
        result = await claimer.claim_due_tasks()
        claimed.inc(len(result.claimed))
        claim_failed.inc(len(result.failed))
        if result.selected:
            log.info(
                "tick %s: claimed %d task(s), skipped %d, failed %d",
                envelope_of(msg).id,
                len(result.claimed),
                len(result.skipped),
                len(result.failed),
            )

    bus.durable(
        bus.ns.all_ticks(),
        producer="scheduler",
        durable=TICKS_DURABLE,
        description="Claims the due follow-up tasks and queues their TaskDue.",
    )(on_tick_claim_due_tasks)
