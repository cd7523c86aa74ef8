"""One leader among the scheduler replicas: a lease on a NATS KV key.

The bucket has a bucket-level TTL (a per-key TTL set by ``create`` is lost on the first
``update``, so a dead leader's key would never expire) and keeps one revision per key.

* A replica campaigns with ``create``: it succeeds only when the key is absent (expired,
  deleted or never written).
* The leader refreshes with ``update(last=revision)`` every TTL/3. It stops acting the
  moment a refresh fails for any reason, or when its local deadline (start of the last
  successful write + TTL - margin) passes: the key may already have expired on the server
  and another replica may lead.
* Standbys campaign every TTL/3, and at once when a watch on the key sees it deleted.
* On shutdown the leader deletes the key if it still holds it, so a standby takes over
  without waiting for the TTL.

The value identifies this process's lease (replica id plus a random token), which lets a
replica whose refresh timed out but landed take its own key back instead of waiting for it
to expire. There is no fencing token: a deposed leader may publish one last tick, which
the tick ids (schedule + slot) make harmless.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import TypeVar

from nats.js import JetStreamContext
from nats.js.api import KeyValueConfig
from nats.js.errors import KeyNotFoundError, KeyWrongLastSequenceError
from nats.js.kv import KV_DEL, KV_PURGE, KeyValue

from realtoros_runtime.buckets import ensure_bucket

log = logging.getLogger(__name__)

T = TypeVar("T")

LEADER_KEY = "scheduler"


class LeaderLease:
    """Campaigns for, holds and gives up the leader key of one bucket."""

    def __init__(
        self,
        bucket: str,
        *,
        replica: str,
        ttl: float,
        key: str = LEADER_KEY,
        replicas: int = 1,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.bucket = bucket
        self.replicas = replicas
        self.key = key
        self.replica = replica
        self._ttl = ttl
        self._clock = clock
        self._token = json.dumps({"replica": replica, "lease": uuid.uuid4().hex}).encode()
        self._kv: KeyValue | None = None
        self._revision: int | None = None
        self._deadline = 0.0
        self._holder: str | None = None
        self._leader_since: datetime | None = None
        self._wake = asyncio.Event()
        self.elected = asyncio.Event()
        """Set each time this replica becomes leader (the ticker clears it)."""

    # --- what the rest of the service sees ---------------------------------------------
    @property
    def ttl(self) -> float:
        """The effective TTL: the bucket's own when it differs from the setting."""
        return self._ttl

    @property
    def is_leader(self) -> bool:
        return self._revision is not None and self._clock() < self._deadline

    @property
    def holder(self) -> str | None:
        """The replica that held the key when last looked at (None: nobody)."""
        return self.replica if self.is_leader else self._holder

    @property
    def leader_since(self) -> datetime | None:
        return self._leader_since if self.is_leader else None

    async def ready_problem(self) -> str | None:
        return None if self._kv is not None else "leader lease: KV bucket not open yet"

    # --- the loop ------------------------------------------------------------------------
    async def run(self, js: JetStreamContext) -> None:
        """Open the bucket, then campaign or refresh until cancelled."""
        watcher: asyncio.Task[None] | None = None
        try:
            while True:
                if self._kv is None:
                    self._kv = await self._open(js)
                    if self._kv is not None:
                        watcher = asyncio.create_task(self._watch(self._kv))
                        continue  # campaign at once
                elif self._revision is not None:
                    await self._refresh(self._kv)
                else:
                    await self._campaign(self._kv)
                await self._pause()
        finally:
            if watcher is not None:
                watcher.cancel()
                await asyncio.gather(watcher, return_exceptions=True)

    async def _pause(self) -> None:
        interval = self._ttl / 3
        if self._revision is not None:
            # Refresh on time, and never later than just before the local deadline.
            await asyncio.sleep(max(0.0, min(interval, self._deadline - self._clock() - 0.05)))
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), interval)
        self._wake.clear()

    async def _open(self, js: JetStreamContext) -> KeyValue | None:
        try:
            kv = await self._bind_or_create(js)
            status = await kv.status()
        except Exception as exc:
            log.warning("cannot open KV bucket %s yet: %s", self.bucket, _describe(exc))
            return None
        bucket_ttl = status.ttl
        if not bucket_ttl:
            log.error(
                "KV bucket %s has no TTL: a dead leader would never be replaced; delete the "
                "bucket so that it is created again with LEASE_TTL_SECONDS",
                self.bucket,
            )
            return None
        if abs(bucket_ttl - self._ttl) > 0.001:
            log.warning(
                "KV bucket %s has TTL %.3fs, not LEASE_TTL_SECONDS=%.3fs: using the bucket's",
                self.bucket,
                bucket_ttl,
                self._ttl,
            )
            self._ttl = bucket_ttl
        return kv

    async def _bind_or_create(self, js: JetStreamContext) -> KeyValue:
        config = KeyValueConfig(
            bucket=self.bucket,
            description="RealtorOS scheduler leader lease",
            ttl=self._ttl,
            history=1,
        )
        # An existing bucket keeps its TTL (see _open); its replica count is brought up
        # to date.
        return await ensure_bucket(js, config, replicas=self.replicas, keep_ttl=True)

    async def _campaign(self, kv: KeyValue) -> None:
        started = self._clock()
        try:
            revision = await self._bounded(kv.create(self.key, self._token))
        except KeyWrongLastSequenceError:
            await self._adopt_or_follow(kv)
            return
        except Exception as exc:
            log.warning("campaign for %s failed: %s", self.key, _describe(exc))
            return
        self._won(revision, started)

    async def _adopt_or_follow(self, kv: KeyValue) -> None:
        """The key exists: take it back if it is this process's own lease (a refresh that
        timed out but landed), otherwise note who leads."""
        try:
            entry = await self._bounded(kv.get(self.key))
        except KeyNotFoundError:
            self._wake.set()  # gone in between: campaign again at once
            return
        except Exception as exc:
            log.warning("cannot read %s: %s", self.key, _describe(exc))
            return
        if entry.value != self._token:
            self._holder = _replica_of(entry.value or b"")
            return
        started = self._clock()
        try:
            revision = await self._bounded(kv.update(self.key, self._token, last=entry.revision))
        except Exception as exc:
            log.warning("could not take back own lease: %s", _describe(exc))
            return
        self._won(revision, started)

    def _won(self, revision: int, started: float) -> None:
        self._revision = revision
        self._deadline = started + self._ttl - self._margin()
        self._holder = self.replica
        self._leader_since = datetime.now(UTC)
        log.info("%s is now the leader (lease %.1fs)", self.replica, self._ttl)
        self.elected.set()

    async def _refresh(self, kv: KeyValue) -> None:
        assert self._revision is not None
        started = self._clock()
        if started >= self._deadline:
            self._step_down("the lease deadline passed before it could be refreshed")
            return
        try:
            revision = await self._bounded(
                kv.update(self.key, self._token, last=self._revision),
                self._deadline - started,
            )
        except Exception as exc:
            self._step_down(f"refresh failed: {_describe(exc)}")
            self._wake.set()  # campaign again at once (takes the key back if still ours)
            return
        self._revision = revision
        self._deadline = started + self._ttl - self._margin()

    def _step_down(self, why: str) -> None:
        self._revision = None
        self._leader_since = None
        self._holder = None
        log.warning("%s stepped down: %s", self.replica, why)

    def _margin(self) -> float:
        # Leave room for clock-rate differences and the time a publish takes to be acted on.
        return min(1.0, self._ttl / 10)

    async def _bounded(self, op: Awaitable[T], timeout: float | None = None) -> T:
        return await asyncio.wait_for(op, timeout if timeout is not None else self._ttl / 3)

    async def _watch(self, kv: KeyValue) -> None:
        """Wake the campaign as soon as the key is deleted (a leader shutting down)."""
        while True:
            watcher = None
            try:
                watcher = await kv.watch(self.key)
                async for entry in watcher:
                    if entry is not None and entry.operation in (KV_DEL, KV_PURGE):
                        self._wake.set()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.debug("watch on %s failed (%s); polling only", self.key, _describe(exc))
            finally:
                if watcher is not None:
                    with contextlib.suppress(Exception):
                        await watcher.stop()  # type: ignore[no-untyped-call]
            await asyncio.sleep(self._ttl)

    # --- shutdown ------------------------------------------------------------------------
    async def resign(self) -> None:
        """Delete the key if it still holds this process's lease (revision-checked), so a
        standby takes over at once. Call after the loop has been cancelled."""
        was_leader = self._revision is not None
        self._revision = None
        self._leader_since = None
        self._holder = None
        kv = self._kv
        if kv is None:
            return
        try:
            entry = await asyncio.wait_for(kv.get(self.key), 2.0)
            if entry.value != self._token:
                return
            await asyncio.wait_for(kv.delete(self.key, last=entry.revision), 2.0)
        except KeyNotFoundError:
            return
        except Exception as exc:
            if was_leader:
                log.warning("could not release the lease (expires in %.1fs): %s", self._ttl, exc)
            return
        log.info("%s released the leader lease", self.replica)


def _replica_of(value: bytes) -> str | None:
    try:
        replica = json.loads(value)["replica"]
    except (ValueError, KeyError, TypeError):
        return None
    return replica if isinstance(replica, str) else None


def _describe(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
