"""A service's readiness checks, and the gate its consumers wait at while one fails.

``/readyz`` runs the checks; so does the gate, after a handler met a transient fault (a
dependency looked unavailable). While a check fails the gate is closed: a consumer's
handlers wait in front of it (telling JetStream they are still working on their message,
so it is not redelivered) instead of burning deliveries, and since a pull consumer fetches
its next batch only when the current one is done, it stops fetching. The gate re-runs the
checks with capped exponential backoff and opens as soon as they all pass.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence

from prometheus_client import Gauge

log = logging.getLogger(__name__)

ReadyCheck = Callable[[], Awaitable[str | None]]
"""A readiness check returns None when ready, or a short reason when not."""

Heartbeat = Callable[[], Awaitable[None]]


class Readiness:
    def __init__(
        self,
        service: str,
        checks: Sequence[ReadyCheck] = (),
        *,
        first_poll: float = 0.5,
        max_poll: float = 5.0,
        heartbeat_every: float = 10.0,
        paused: Gauge | None = None,
    ) -> None:
        """``paused``: the gauge (labelled by service) that is 1 while the gate is closed."""
        self.service = service
        self._checks = list(checks)
        self._first_poll = first_poll
        self._max_poll = max_poll
        self._heartbeat_every = heartbeat_every
        self._open = asyncio.Event()
        self._open.set()
        self._watcher: asyncio.Task[None] | None = None
        self._paused = paused.labels(service) if paused is not None else None
        self._set_paused(0)

    def add_check(self, check: ReadyCheck) -> None:
        self._checks.append(check)

    @property
    def is_open(self) -> bool:
        return self._open.is_set()

    async def problems(self) -> list[str]:
        """Run every check (what ``/readyz`` reports); a failing one closes the gate."""
        problems = await self._run_checks()
        if problems:
            self._close(problems)
        return problems

    def suspect(self, reason: str) -> None:
        """A handler met a transient fault: close the gate until the checks pass again."""
        self._close([reason])

    def _set_paused(self, value: int) -> None:
        if self._paused is not None:
            self._paused.set(value)

    async def wait_until_open(self, heartbeat: Heartbeat) -> None:
        """Return when the gate is open, calling ``heartbeat`` every so often meanwhile."""
        while not self._open.is_set():
            try:
                async with asyncio.timeout(self._heartbeat_every):
                    await self._open.wait()
            except TimeoutError:
                await heartbeat()

    async def close(self) -> None:
        """Stop watching (at shutdown)."""
        task, self._watcher = self._watcher, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        self._open.set()

    async def _run_checks(self) -> list[str]:
        problems = []
        for check in self._checks:
            try:
                problem = await check()
            except Exception as exc:  # a check that raises is a failing check
                problem = f"{type(exc).__name__}: {exc}"
            if problem is not None:
                problems.append(problem)
        return problems

    def _close(self, problems: list[str]) -> None:
        if self._open.is_set():
            log.warning("%s: consumers paused: %s", self.service, "; ".join(problems))
            self._open.clear()
            self._set_paused(1)
        if self._watcher is None or self._watcher.done():
            self._watcher = asyncio.create_task(self._watch(), name=f"{self.service}-readiness")

    async def _watch(self) -> None:
        delay = self._first_poll
        while True:
            await asyncio.sleep(delay)
            if not await self._run_checks():
                break
            delay = min(delay * 2, self._max_poll)
        self._open.set()
        self._set_paused(0)
        log.warning("%s: dependencies are back; consumers resume", self.service)
