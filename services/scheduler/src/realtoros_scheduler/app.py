"""Composition root: the bus, the leader lease, the ticker and the worker app."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from faststream.asgi import AsgiFastStream, AsgiResponse, get
from faststream.asgi.types import Scope

from realtoros_contracts import SchedulerTick
from realtoros_runtime.bus import Bus, build_bus
from realtoros_runtime.worker import worker_app
from realtoros_scheduler.leader import LeaderLease
from realtoros_scheduler.settings import Settings
from realtoros_scheduler.ticker import Ticker

DESCRIPTION = (
    "One leader among the scheduler replicas (a lease on a NATS KV key) publishes a "
    "SchedulerTick per schedule per slot on realtoros.scheduler.tick.<schedule>. The tick's "
    "id is its schedule and slot, so ticks from two overlapping leaders are one message."
)


class Scheduler:
    """The lease and the ticker, run as background tasks of the worker app."""

    def __init__(self, bus: Bus, settings: Settings) -> None:
        self.bus = bus
        self.settings = settings
        self.lease = LeaderLease(
            bus.ns.bucket("leader"),
            replica=settings.replica_id,
            ttl=settings.lease_ttl_seconds,
            replicas=bus.ns.replicas,
        )
        self.ticker = Ticker(
            bus.publisher,
            self.lease,
            schedules=settings.schedules,
            interval_seconds=settings.tick_interval_seconds,
            replica=settings.replica_id,
        )
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        js = self.bus.broker.connection.jetstream()
        self._tasks = [
            asyncio.create_task(self.lease.run(js), name="leader-lease"),
            asyncio.create_task(self.ticker.run(), name="ticker"),
        ]

    async def stop(self) -> None:
        """Stop ticking, then hand the lease over (the broker is still connected)."""
        for task in reversed(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        await self.lease.resign()

    async def ready_problem(self) -> str | None:
        for task in self._tasks:
            if task.done():
                return f"scheduler: background task {task.get_name()} stopped"
        return await self.lease.ready_problem()

    def status(self) -> dict[str, Any]:
        last_tick = self.ticker.last_tick
        since = self.lease.leader_since
        return {
            "replica": self.settings.replica_id,
            "leader": self.lease.is_leader,
            "leader_since": since.isoformat() if since else None,
            "holder": self.lease.holder,
            "last_tick": last_tick.isoformat() if last_tick else None,
            "ticks_published": self.ticker.published,
            "schedules": list(self.settings.schedules),
            "tick_interval_seconds": self.settings.tick_interval_seconds,
            "lease_ttl_seconds": self.lease.ttl,
        }


def _status_route(scheduler: Scheduler) -> Any:
    @get(include_in_schema=False)
    async def status(scope: Scope) -> AsgiResponse:
        body = json.dumps(scheduler.status()).encode()
        return AsgiResponse(body, 200, headers={"content-type": "application/json"})

    return status


def build_app(settings: Settings) -> AsgiFastStream:
    """The scheduler's ASGI app: /healthz, /readyz, /status and the AsyncAPI document."""
    bus = build_bus("scheduler", settings)
    scheduler = Scheduler(bus, settings)
    bus.metrics.callback_gauge(
        "leader",
        "1 while this replica holds the leader lease.",
        lambda: float(scheduler.lease.is_leader),
    )
    bus.metrics.callback_gauge(
        "ticks_published",
        "Ticks this replica published (JetStream acked) since it started.",
        lambda: float(scheduler.ticker.published),
    )
    for schedule in settings.schedules:  # one subject per schedule
        bus.publications.declare_event(SchedulerTick, bus.ns.tick_subject(schedule))
    app = worker_app(
        bus,
        title="RealtorOS scheduler",
        description=DESCRIPTION,
        ready_checks=[scheduler.ready_problem],
        after_startup=[scheduler.start],
        on_shutdown=[scheduler.stop],
    )
    app.mount("/status", _status_route(scheduler))
    return app
