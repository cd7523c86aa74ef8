"""What the mailer remembers of each email it sent, for the replies to it (NATS KV bucket
``<ns>_reply_contexts``, kept 180 days): who the email was from and to (the forward goes to
the agent's reply-to), and its message ids, so a reply matched only by In-Reply-To or
References (SES rewrites Message-ID to ``<MessageId@…amazonses.com>``) finds it."""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Callable
from typing import TypeVar

from nats.js import JetStreamContext
from nats.js.api import KeyValueConfig, StorageType
from nats.js.errors import KeyNotFoundError
from nats.js.kv import KeyValue
from pydantic import BaseModel, ConfigDict

from realtoros_contracts import Namespace
from realtoros_runtime.buckets import ensure_bucket

TTL = 180 * 24 * 3600.0
_ID_PART = re.compile(r"^<?([^@<>]+)@")
T = TypeVar("T")


class ReplyContext(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    email_id: uuid.UUID
    agent_id: uuid.UUID
    client_id: uuid.UUID
    forward_to: str
    forward_name: str = ""
    to_email: str
    subject: str = ""
    task_id: uuid.UUID | None = None
    provider_message_id: str = ""
    """For a delivery status report about the email (recorded as its bounce)."""


def _message_key(message_id: str) -> str:
    return "m." + hashlib.sha256(message_id.strip().strip("<>").lower().encode()).hexdigest()


def message_ids_of(provider_message_id: str, transport: str, email_id: uuid.UUID) -> list[str]:
    """The Message-ID headers the client's mail program saw for one of our emails."""
    ids = [f"{email_id}@"]  # our own header (file and SMTP transports keep it)
    if transport == "ses" and provider_message_id:
        ids.append(f"{provider_message_id}@")  # any SES region's domain
    return ids


def local_part(message_id: str) -> str | None:
    match = _ID_PART.match(message_id.strip())
    return match.group(1) if match else None


class ReplyContexts:
    def __init__(self, ns: Namespace) -> None:
        self._ns = ns
        self._kv: KeyValue | None = None

    async def open(self, js: JetStreamContext) -> None:
        config = KeyValueConfig(
            bucket=self._ns.bucket("reply_contexts"),
            description="Sent emails, for matching and forwarding the replies to them.",
            history=1,
            ttl=TTL,
            storage=StorageType.FILE,
        )
        self._kv = await ensure_bucket(js, config, replicas=self._ns.replicas)

    @property
    def kv(self) -> KeyValue:
        assert self._kv is not None, "the reply contexts are not open"
        return self._kv

    async def remember(self, context: ReplyContext, message_ids: list[str]) -> None:
        await self.kv.put(f"e.{context.email_id}", context.model_dump_json().encode())
        for message_id in message_ids:
            await self.kv.put(_message_key(message_id), str(context.email_id).encode())

    async def read(self, key: str, parse: Callable[[bytes], T]) -> T | None:
        """The value at ``key``, parsed; None when there is none or it does not parse."""
        try:
            entry = await self.kv.get(key)
        except KeyNotFoundError:
            return None
        try:
            return parse(entry.value or b"")
        except ValueError:  # pydantic's ValidationError and UnicodeDecodeError too
            return None

    async def find(self, email_id: uuid.UUID) -> ReplyContext | None:
        return await self.read(f"e.{email_id}", ReplyContext.model_validate_json)

    async def email_for(self, message_id: str) -> uuid.UUID | None:
        """The email a Message-ID belongs to, by its local part (``<local@domain>``)."""
        local = local_part(message_id)
        if local is None:
            return None
        return await self.read(_message_key(f"{local}@"), lambda value: uuid.UUID(value.decode()))
