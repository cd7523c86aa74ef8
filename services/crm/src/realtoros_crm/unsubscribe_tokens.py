"""Signed unsubscribe tokens: a client id and an HMAC of it, nothing to look up."""

from __future__ import annotations

import base64
import hashlib
import hmac
import uuid

_PURPOSE = b"unsubscribe:"


def _signature(client_id: uuid.UUID, key: bytes) -> str:
    digest = hmac.new(key, _PURPOSE + client_id.bytes, hashlib.sha256).digest()[:16]
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
