"""Password hashing (argon2) and the agents' access tokens (JWT, HS256)."""

from __future__ import annotations

import asyncio
import functools
import hashlib
import secrets
import uuid
from datetime import datetime, timedelta

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

ALGORITHM = "HS256"
_hasher = PasswordHasher()


@functools.cache
def _dummy_hash() -> str:
    """Verified when the address is unknown, so a login takes as long either way."""
    return _hasher.hash("realtoros-not-a-password")


async def hash_password(password: str) -> str:
    # argon2 is deliberately slow: run it off the event loop.
    return await asyncio.to_thread(_hasher.hash, password)


def _verify(password_hash: str | None, password: str) -> bool:
    try:
        return (
            _hasher.verify(password_hash or _dummy_hash(), password) and password_hash is not None
        )
    except (VerificationError, InvalidHashError):
        return False


async def verify_password(password_hash: str | None, password: str) -> bool:
    return await asyncio.to_thread(_verify, password_hash, password)


def issue_token(
    agent_id: uuid.UUID, *, key: str, now: datetime, ttl: timedelta, session_id: uuid.UUID
) -> str:
    """An access token of the sign-in session ``session_id`` (the refresh token family):
    it works only while that session is live, so logging out ends it at once."""
    claims = {"sub": str(agent_id), "sid": str(session_id), "iat": now, "exp": now + ttl}
    return jwt.encode(claims, key, algorithm=ALGORITHM)


def read_token(token: str, *, key: str) -> tuple[uuid.UUID, uuid.UUID] | None:
    """(agent id, session id) of a valid, unexpired token, or None. Whether the session is
    still live is the caller's check (``api.deps``)."""
    try:
        claims = jwt.decode(
            token, key, algorithms=[ALGORITHM], options={"require": ["sub", "sid", "exp"]}
        )
        return uuid.UUID(str(claims["sub"])), uuid.UUID(str(claims["sid"]))
    except (jwt.PyJWTError, ValueError):
        return None


def new_refresh_token() -> str:
    """An opaque refresh token: 256 random bits. Only its SHA-256 is stored."""
    return secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
