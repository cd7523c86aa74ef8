"""The suppression set: addresses the mailer must never email again (a hard bounce, a
complaint, an unsubscribe). One NATS KV entry per address, shared by every replica.

Keys are a SHA-256 of the normalised address (lower-cased, IDN domain in punycode): KV keys
allow only a few characters, and the bucket then holds no readable addresses.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
from datetime import UTC, datetime
from typing import Literal

from nats.js import JetStreamContext
from nats.js.errors import KeyNotFoundError
from nats.js.kv import KeyValue
from pydantic import AwareDatetime, BaseModel, ConfigDict, ValidationError

from realtoros_contracts import Namespace
from realtoros_runtime.buckets import open_bucket

log = logging.getLogger(__name__)

Why = Literal["bounce", "complaint", "unsubscribed"]


class Suppression(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    reason: Why
    at: AwareDatetime
    detail: str = ""


def normalise(address: str) -> str:
    local, _, domain = address.strip().rpartition("@")
    # Not a valid IDN: kept as written (it then simply never matches a send).
    with contextlib.suppress(UnicodeError):
        domain = domain.encode("idna").decode("ascii")
    return f"{local}@{domain}".lower()


def suppression_key(address: str) -> str:
    return hashlib.sha256(normalise(address).encode()).hexdigest()


class SuppressionSet:
    def __init__(self, ns: Namespace) -> None:
        self._bucket = ns.bucket("suppression")
        self._replicas = ns.replicas
        self._kv: KeyValue | None = None

    @property
    def ready(self) -> bool:
        return self._kv is not None

    async def open(self, js: JetStreamContext) -> None:
        self._kv = await open_bucket(
            js,
            self._bucket,
            "Addresses never to email again (hard bounce, complaint, unsubscribe).",
            replicas=self._replicas,
        )

    @property
    def kv(self) -> KeyValue:
        if self._kv is None:
            raise RuntimeError("the suppression set is not open yet")
        return self._kv

    async def add(self, address: str, reason: Why, detail: str = "") -> None:
        """Suppress ``address`` (idempotent: the first reason is kept)."""
        if await self.check(address) is not None:
            return
        entry = Suppression(reason=reason, at=datetime.now(UTC), detail=detail[:300])
        await self.kv.put(suppression_key(address), entry.model_dump_json().encode())
        log.info("suppressed an address (%s)", reason)  # never the address itself

    async def check(self, address: str) -> Suppression | None:
        try:
            entry = await self.kv.get(suppression_key(address))
        except KeyNotFoundError:
            return None
        try:
            return Suppression.model_validate_json(entry.value or b"")
        except ValidationError:
            # Unreadable but present: someone meant to suppress it. Err on not sending.
            return Suppression(reason="unsubscribed", at=datetime.now(UTC), detail="unreadable")
