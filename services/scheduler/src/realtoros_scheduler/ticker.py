"""The ticks: while this replica leads, one ``SchedulerTick`` per schedule per slot.

A slot is the interval-aligned UTC time ``floor(now / interval) * interval``, computed in
whole microseconds so that every replica derives exactly the same slot (and so the same
event id, ``tick:<schedule>:<slot>``) for the same moment. Two leaders overlapping in a
failover therefore publish the same ``Nats-Msg-Id``s and JetStream keeps one of each.
Slots missed while nobody led are not published afterwards: a tick means "look at what is
due now", so the next one covers them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Protocol

from realtoros_contracts import SchedulerTick
from realtoros_runtime.publisher import EventPublisher

log = logging.getLogger(__name__)

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class Leadership(Protocol):
    @property
    def is_leader(self) -> bool: ...

    @property
    def elected(self) -> asyncio.Event: ...


def interval_micros(interval_seconds: float) -> int:
    return max(1, round(interval_seconds * 1_000_000))


def slot_of(now_micros: int, interval_us: int) -> datetime:
    """The start of the slot ``now_micros`` (microseconds since the epoch) falls in."""
    return EPOCH + timedelta(microseconds=now_micros // interval_us * interval_us)


def wall_clock_micros() -> int:
    return time.time_ns() // 1000


class Ticker:
    """Publishes the ticks of every schedule, once per slot, only while leading."""

    def __init__(
        self,
        publisher: EventPublisher,
        lease: Leadership,
        *,
        schedules: Sequence[str],
        interval_seconds: float,
        replica: str,
        clock: Callable[[], int] = wall_clock_micros,
    ) -> None:
        self._publisher = publisher
        self._lease = lease
        self._schedules = tuple(schedules)
        self._interval_us = interval_micros(interval_seconds)
        self._replica = replica
        self._clock = clock
        self._last_slot: datetime | None = None
        self.last_tick: datetime | None = None
        """The slot of the last tick this replica published (and JetStream acked)."""
        self.published = 0

    async def run(self) -> None:
        """Tick at every slot boundary until cancelled; wake early when elected so a new
        leader publishes the current slot at once."""
        while True:
            slot = slot_of(self._clock(), self._interval_us)
            if self._lease.is_leader and slot != self._last_slot:
                # != rather than >: a wall clock stepped back keeps ticking (a repeated
                # slot is the same message id, dropped by JetStream).
                self._last_slot = slot
                await self._publish_slot(slot)
            next_slot_us = (self._clock() // self._interval_us + 1) * self._interval_us
            delay = max(0.0, (next_slot_us - self._clock()) / 1_000_000)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._lease.elected.wait(), delay)
            self._lease.elected.clear()

    async def _publish_slot(self, slot: datetime) -> None:
        for schedule in self._schedules:
            # Leadership can be lost while a publish is in flight: look again before each.
            if not self._lease.is_leader:
                log.info("not leader any more: slot %s not published", slot.isoformat())
                return
            tick = SchedulerTick(schedule=schedule, slot=slot, leader=self._replica)
            try:
                await self._publisher.publish(tick, event_id=SchedulerTick.event_id(schedule, slot))
            except Exception as exc:
                log.warning(
                    "tick %s %s not published: %s: %s",
                    schedule,
                    slot.isoformat(),
                    type(exc).__name__,
                    exc,
                )
                continue
            self.published += 1
            self.last_tick = slot
