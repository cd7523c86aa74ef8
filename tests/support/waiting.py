"""Waiting for a condition with a deadline, instead of sleeping a fixed time: the one
place the tests poll (``eventually`` in async tests, ``eventually_blocking`` in plain
ones). A deadline is a budget, not an assertion about speed: it only bounds how long a
failing test takes to say so."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar, overload

T = TypeVar("T")

DEADLINE = 15.0


@overload
async def eventually(
    probe: Callable[[], Awaitable[T | None]],
    *,
    timeout: float = ...,
    interval: float = ...,
    what: str = ...,
) -> T: ...


@overload
async def eventually(
    probe: Callable[[], T | None],
    *,
    timeout: float = ...,
    interval: float = ...,
    what: str = ...,
) -> T: ...


async def eventually(
    probe: Callable[[], Any],
    *,
    timeout: float = DEADLINE,
    interval: float = 0.05,
    what: str = "condition",
) -> Any:
    """Call ``probe`` (sync or async) until it returns something truthy; return that."""
    deadline = time.monotonic() + timeout
    while True:
        result = probe()
        if asyncio.iscoroutine(result) or isinstance(result, asyncio.Future):
            result = await result
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not met within {timeout}s (last: {result!r})")
        await asyncio.sleep(interval)


def eventually_blocking(
    probe: Callable[[], T | None],
    *,
    timeout: float = DEADLINE,
    interval: float = 0.1,
    what: str = "condition",
) -> T:
    """``eventually`` outside an event loop: call ``probe`` until it returns something
    truthy, sleeping the thread between calls."""
    deadline = time.monotonic() + timeout
    while True:
        if result := probe():
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not met within {timeout}s (last: {result!r})")
        time.sleep(interval)
