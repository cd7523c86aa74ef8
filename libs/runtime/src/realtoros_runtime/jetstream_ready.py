"""Starting while JetStream elects: wait for its API with backoff instead of exiting.

On a cluster every stream, KV bucket and durable consumer is a Raft group, and the
JetStream API itself answers through the meta group's leader. A server that lost its
leader waits 4-9 s (nats-server ``server/raft.go``: ``minElectionTimeoutDefault`` …
``maxElectionTimeoutDefault``) before it campaigns, and a new consumer answers its create
request only once its own group has a leader. nats.py's JetStream requests time out after
5 s by default, so a service starting during an election (or while every other replica
creates its consumers on a loaded machine) got a ``TimeoutError`` from FastStream's
``pull_subscribe`` and exited. Instead, a service now:

* makes its JetStream requests with a timeout longer than one election
  (:data:`JS_API_TIMEOUT`, given to the broker's JetStream context);
* creates its streams and its durable consumers itself before the broker starts, each
  retried with capped exponential backoff and jitter while JetStream answers "not now"
  (a timeout, no responders, 503, 500; and 404 "stream not found" for what it has just
  created: a server without a meta leader answers from its own stale view), for at most
  :data:`START_PATIENCE` seconds; then
  it stops with one line naming what was unavailable. FastStream then finds the consumers
  (``consumer_info``) and only binds to them.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import random
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from nats.errors import NoRespondersError
from nats.js import JetStreamContext
from nats.js.api import ConsumerConfig
from nats.js.errors import BadRequestError, NotFoundError, ServerError, ServiceUnavailableError

log = logging.getLogger(__name__)

JS_API_TIMEOUT = 15.0
"""Seconds a JetStream API request may take: longer than one Raft election (at most 9 s)."""
START_PATIENCE = 180.0
"""Seconds a starting service waits for JetStream before giving up."""

NOT_NOW = (asyncio.TimeoutError, NoRespondersError, ServiceUnavailableError, ServerError)
"""What JetStream answers while it has no leader to answer with (nats.py's TimeoutError is
an ``asyncio.TimeoutError``)."""

T = TypeVar("T")


class JetStreamUnavailable(RuntimeError):
    """JetStream did not answer within the start-up patience."""


@dataclass(frozen=True)
class DurableSpec:
    """A durable pull consumer as FastStream's ``pull_subscribe`` would create it."""

    stream: str
    subject: str
    durable: str
    config: ConsumerConfig

    def create_config(self) -> ConsumerConfig:
        return dataclasses.replace(
            self.config, name=self.durable, durable_name=self.durable, filter_subject=self.subject
        )


async def with_backoff(
    call: Callable[[], Awaitable[T]],
    what: str,
    *,
    also: tuple[type[Exception], ...] = (),
    patience: float = START_PATIENCE,
    first: float = 0.25,
    most: float = 5.0,
) -> T:
    """``await call()``, again after 0.25, 0.5, 1 … 5 s (with jitter) while JetStream is not
    available (or raises one of ``also``), for at most ``patience`` seconds."""
    started, delay, attempts = time.monotonic(), first, 0
    retried: tuple[type[Exception], ...] = (*NOT_NOW, *also)
    while True:
        attempts += 1
        try:
            return await call()
        except retried as exc:
            waited = time.monotonic() - started
            if waited + delay > patience:
                raise JetStreamUnavailable(
                    f"JetStream: {what} still unavailable after {waited:.0f}s "
                    f"({attempts} attempts): {type(exc).__name__} {exc}"
                ) from exc
            log.warning(
                "JetStream: %s not available yet (%s: %s); retrying in %.1fs",
                what,
                type(exc).__name__,
                exc,
                delay,
            )
            await asyncio.sleep(delay * random.uniform(0.5, 1.0))
            delay = min(delay * 2, most)


async def ensure_consumer(js: JetStreamContext, spec: DurableSpec) -> None:
    """Create the durable unless it exists (idempotent; a create that timed out but landed
    is found by the next attempt's ``consumer_info``)."""
    try:
        await js.consumer_info(spec.stream, spec.durable)
        return
    except NotFoundError:
        pass
    try:
        await js.add_consumer(spec.stream, config=spec.create_config())
    except BadRequestError as exc:  # another replica created it in between
        log.info("consumer %s/%s: %s", spec.stream, spec.durable, exc)


async def ensure_consumers(
    js: JetStreamContext, specs: Sequence[DurableSpec], *, patience: float = START_PATIENCE
) -> None:
    for spec in specs:
        await with_backoff(
            lambda spec=spec: ensure_consumer(js, spec),  # type: ignore[misc]
            f"consumer {spec.stream}/{spec.durable}",
            also=(NotFoundError,),  # its stream was just created: a stale view
            patience=patience,
        )
