"""The send ledger: one NATS KV entry per email id, the mailer's memory of what it sent.

The entry is claimed (``create``, which fails if the key exists) before the transport is
called, so two deliveries of the same email can never both reach SES. Its states:

* ``claimed`` — a send is (or was) in progress, by the mailer process named in ``owner``.
  The owner itself knows whether it called the transport; another process waits for the
  claim to be older than the claim grace (the longest a live owner can take to record a
  result), and then takes it for an attempt that died mid-send: nobody knows whether SES
  sent it;
* ``sent`` — the transport accepted it (message id recorded);
* ``failed`` — definitely not sent (the reason says why);
* ``unknown`` — a dead ``claimed`` entry that has been reported to the CRM.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal, TypeVar
from uuid import UUID

from nats.errors import (
    ConnectionReconnectingError,
    NoRespondersError,
    OutboundBufferLimitError,
)
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js import JetStreamContext
from nats.js.api import KeyValueConfig, StorageType
from nats.js.errors import (
    APIError,
    KeyNotFoundError,
    KeyWrongLastSequenceError,
    NoStreamResponseError,
    ServiceUnavailableError,
)
from nats.js.kv import KeyValue
from pydantic import AwareDatetime, BaseModel, ConfigDict, ValidationError

from realtoros_contracts import LEDGER_MAX_AGE, Namespace
from realtoros_runtime.buckets import ensure_bucket

log = logging.getLogger(__name__)

LedgerState = Literal["claimed", "sent", "failed", "unknown"]
Outcome = Literal["failed", "skipped", "unknown"]

RECORD_PATIENCE = 60.0
"""Seconds a result is retried against an unreachable NATS (a server restart) before the
delivery gives up; the claim grace must be longer than this plus the transport timeouts."""

TRANSIENT = (
    TimeoutError,
    NatsTimeoutError,
    NoRespondersError,
    ServiceUnavailableError,
    ConnectionReconnectingError,
    OutboundBufferLimitError,
    # A publish (a KV write) answered with an empty status: the bucket's stream has no
    # leader at the moment (a replicated bucket electing after its leader's server died).
    NoStreamResponseError,
)
"""What NATS raises while it restarts, a reconnect is under way or a replicated bucket
elects a leader."""

_T = TypeVar("_T")

WRONG_LAST_SEQUENCE_IN_PROCESS = 10164
"""nats-server's JSStreamWrongLastSequenceConstantErr: on a replicated stream a write with
an expected last sequence is refused this way while an earlier write to the same key is
still being replicated (e.g. our own create whose reply was lost to a leader change).
nats.py 2.14 turns only 10071 into ``KeyWrongLastSequenceError``; it means the same."""


async def _kv_write(write: Awaitable[_T]) -> _T:
    """A KV write with both forms of "wrong last sequence" as ``KeyWrongLastSequenceError``."""
    try:
        return await write
    except KeyWrongLastSequenceError:
        raise
    except APIError as exc:
        if exc.err_code == WRONG_LAST_SEQUENCE_IN_PROCESS:
            raise KeyWrongLastSequenceError(description=exc.description) from exc
        raise


class LedgerError(RuntimeError):
    """The ledger could not be read or written; the delivery is retried."""


class LedgerConflict(LedgerError):
    """The entry changed under us (another replica wrote it); retry to see the new state."""


class LedgerEntry(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    state: LedgerState
    at: AwareDatetime
    owner: str | None = None
    """The mailer process that claimed it (absent in entries written before owners)."""
    message_id: str | None = None
    transport: Literal["ses", "file", "smtp"] | None = None
    outcome: Outcome | None = None
    reason: str | None = None

    @staticmethod
    def claim(owner: str) -> LedgerEntry:
        return LedgerEntry(state="claimed", at=datetime.now(UTC), owner=owner)

    def age(self) -> float:
        """Seconds since this entry was written (by its own clock)."""
        return (datetime.now(UTC) - self.at).total_seconds()


@dataclass(frozen=True)
class Claim:
    """The result of claiming: ``existing`` is None when this delivery won the claim."""

    revision: int
    existing: LedgerEntry | None


def bucket_config(ns: Namespace) -> KeyValueConfig:
    # Entries expire after LEDGER_MAX_AGE, far past the last possible redelivery of the
    # email's events (streams keep them EVENT_MAX_AGE): the bucket stays bounded.
    return KeyValueConfig(
        bucket=ns.bucket("send_ledger"),
        description="The mailer's send ledger: one entry per email id.",
        history=1,
        ttl=float(LEDGER_MAX_AGE),
        storage=StorageType.FILE,
        replicas=ns.replicas,
    )


class SendLedger:
    def __init__(self, ns: Namespace) -> None:
        self._ns = ns
        self._kv: KeyValue | None = None

    @property
    def ready(self) -> bool:
        return self._kv is not None

    async def open(self, js: JetStreamContext) -> None:
        """Create the bucket, or bind to it when it exists (idempotent)."""
        # An older version's bucket (no expiry, one replica) is brought up to date.
        self._kv = await ensure_bucket(js, bucket_config(self._ns), replicas=self._ns.replicas)

    @property
    def kv(self) -> KeyValue:
        if self._kv is None:
            raise LedgerError("the send ledger is not open yet")
        return self._kv

    async def claim(self, email_id: UUID, owner: str) -> Claim:
        key = str(email_id)
        for attempt in range(5):
            try:
                revision = await _kv_write(self.kv.create(key, _dump(LedgerEntry.claim(owner))))
                return Claim(revision=revision, existing=None)
            except KeyWrongLastSequenceError:
                pass
            try:
                entry = await self.kv.get(key)
            except KeyNotFoundError:
                # Released between our create and get, or a write still being replicated.
                await asyncio.sleep(0.2 * attempt)
                continue
            return Claim(revision=entry.revision or 0, existing=_load(key, entry.value))
        raise LedgerConflict(f"could not claim or read ledger entry {key}")

    async def read(self, email_id: UUID) -> tuple[int, LedgerEntry] | None:
        """The entry's revision and content, or None when there is none."""
        key = str(email_id)
        try:
            found = await self.kv.get(key)
        except KeyNotFoundError:
            return None
        return found.revision or 0, _load(key, found.value)

    async def take_over(self, email_id: UUID, revision: int, owner: str) -> int:
        """Replace a claim known never to have reached the transport with a fresh one;
        its new revision. :class:`LedgerConflict` if the entry changed meanwhile."""
        try:
            return await _kv_write(
                self.kv.update(str(email_id), _dump(LedgerEntry.claim(owner)), last=revision)
            )
        except KeyWrongLastSequenceError as exc:
            raise LedgerConflict(f"ledger entry {email_id} changed before takeover") from exc

    async def record(self, email_id: UUID, entry: LedgerEntry, *, last: int | None = None) -> None:
        """Write the outcome. With ``last``, only if the entry is still at that revision
        (raises :class:`LedgerConflict` otherwise). Retried for :data:`RECORD_PATIENCE`
        seconds: the outcome of a send that happened must outlast a NATS restart, or the
        email would be reported unknown."""
        key = str(email_id)
        delay = 0.2
        deadline = time.monotonic() + RECORD_PATIENCE
        attempt = 0
        while True:
            attempt += 1
            try:
                if last is None:
                    await self.kv.put(key, _dump(entry))
                else:
                    await _kv_write(self.kv.update(key, _dump(entry), last=last))
                return
            except KeyWrongLastSequenceError as exc:
                if attempt > 1 and last is not None and await self._holds(key, entry):
                    return  # an earlier attempt landed after its reply was lost
                raise LedgerConflict(f"ledger entry {key} changed while recording") from exc
            except TRANSIENT as exc:
                if time.monotonic() + delay > deadline:
                    raise
                log.warning(
                    "ledger write for %s failed (attempt %d, %s); retrying",
                    key,
                    attempt,
                    type(exc).__name__,
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)

    async def _holds(self, key: str, entry: LedgerEntry) -> bool:
        try:
            found = await self.kv.get(key)
        except KeyNotFoundError:
            return False
        return _load(key, found.value) == entry

    async def release(self, email_id: UUID, revision: int) -> None:
        """Drop our claim after a send that surely did not happen, so a retry may send."""
        try:
            await _kv_write(self.kv.delete(str(email_id), last=revision))
        except KeyWrongLastSequenceError:
            log.warning("ledger entry %s changed before its claim was released", email_id)


def _dump(entry: LedgerEntry) -> bytes:
    return entry.model_dump_json(exclude_none=True).encode()


def _load(key: str, value: bytes | None) -> LedgerEntry:
    try:
        return LedgerEntry.model_validate_json(value or b"")
    except ValidationError as exc:
        # Not a ValidationError: the middleware would take it for a bad event body.
        problem = f"{exc.error_count()} error(s)"
        raise LedgerError(f"ledger entry {key} is unreadable: {problem}") from None
