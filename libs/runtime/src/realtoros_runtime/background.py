"""A coroutine run every so often in the background of a service, until stopped."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)


class Periodic:
    """Runs ``action`` every ``interval`` seconds (the first time at once, or after one
    interval when ``wait_first``); an error is logged and the next round tries again."""

    def __init__(
        self,
        name: str,
        action: Callable[[], Awaitable[object]],
        interval: float,
        *,
        wait_first: bool = False,
    ) -> None:
        self._name = name
        self._action = action
        self._interval = interval
        self._wait_first = wait_first
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=self._name)

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def _run(self) -> None:
        if self._wait_first:
            await asyncio.sleep(self._interval)
        while True:
            try:
                await self._action()
            except Exception as exc:  # an outage, most likely: the next round tries again
                log.warning("%s failed (%s: %s)", self._name, type(exc).__name__, exc)
            await asyncio.sleep(self._interval)
