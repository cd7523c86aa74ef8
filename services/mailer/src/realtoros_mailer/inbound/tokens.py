"""Reply addresses: ``reply+<email id>.<signature>@<inbound domain>``, one per sent email.

The signature is an HMAC of the email id (like the CRM's unsubscribe tokens), so nobody can
make up a reply address for another agent's email. Hex and lower-case base32 only: some
mail systems lower-case the local part, and it must stay under 64 characters.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import uuid
from collections.abc import Iterable
from email.utils import getaddresses

_PURPOSE = b"reply:"
PREFIX = "reply+"


def _signature(email_id: uuid.UUID, key: bytes) -> str:
    digest = hmac.new(key, _PURPOSE + email_id.bytes, hashlib.sha256).digest()[:10]
    return base64.b32encode(digest).decode().lower()


def sign_reply_token(email_id: uuid.UUID, key: bytes) -> str:
    return f"{email_id.hex}.{_signature(email_id, key)}"


def verify_reply_token(token: str, key: bytes) -> uuid.UUID | None:
    """The email id the token was signed for, or None when it was not signed with ``key``."""
    raw_id, _, signature = token.lower().partition(".")
    try:
        email_id = uuid.UUID(hex=raw_id)
    except ValueError:
        return None
    if not hmac.compare_digest(signature, _signature(email_id, key)):
        return None
    return email_id


def reply_address(email_id: uuid.UUID, key: bytes, domain: str) -> str:
    return f"{PREFIX}{sign_reply_token(email_id, key)}@{domain}"


def tokens_in(addresses: Iterable[str], domain: str) -> list[str]:
    """The tokens of the reply addresses on ``domain`` among ``addresses`` (header values
    or bare envelope recipients), in order."""
    found = []
    for _, address in getaddresses(list(addresses)):
        local, _, at = address.rpartition("@")
        if at.lower() == domain.lower() and local.lower().startswith(PREFIX):
            found.append(local[len(PREFIX) :])
    return found
