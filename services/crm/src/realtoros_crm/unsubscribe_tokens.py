"""Signed unsubscribe tokens: a client id and an HMAC of it, nothing to look up."""

from __future__ import annotations

import base64
import hashlib
import hmac
import uuid
from functools import lru_cache

_PURPOSE = b"unsubscribe:"


@lru_cache(maxsize=8)
def _keyed(key: bytes) -> hmac.HMAC:
    """The HMAC with the key already mixed in: a copy of it signs one token (the claim
    signs hundreds per batch)."""
    return hmac.new(key, _PURPOSE, hashlib.sha256)


def _signature(client_id: uuid.UUID, key: bytes) -> str:
    mac = _keyed(key).copy()
    mac.update(client_id.bytes)
    digest = mac.digest()[:16]
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def sign_unsubscribe(client_id: uuid.UUID, key: bytes) -> str:
    return f"{client_id.hex}.{_signature(client_id, key)}"


def verify_unsubscribe(token: str, key: bytes) -> uuid.UUID | None:
    """The client id the token was signed for, or None when it was not signed with ``key``."""
    raw_id, _, signature = token.partition(".")
    try:
        client_id = uuid.UUID(hex=raw_id)
    except ValueError:
        return None
    if not hmac.compare_digest(signature, _signature(client_id, key)):
        return None
    return client_id
