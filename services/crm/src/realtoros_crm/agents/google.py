"""Verifying Google ID tokens: the signature against Google's published keys (cached),
the audience, the issuer, the expiry (with a little skew) and the verified email."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import jwt
from jwt import PyJWKClient

ISSUERS = ("accounts.google.com", "https://accounts.google.com")


class GoogleTokenInvalid(Exception):
    """The ID token is not one Google issued for this app (the message says why)."""


class GoogleKeysUnavailable(Exception):
    """Google's keys could not be fetched: try again later."""


@dataclass(frozen=True)
class GoogleIdentity:
    sub: str
    email: str
    name: str | None


class GoogleVerifier:
    def __init__(
        self, *, client_id: str, jwks_url: str, cache_seconds: int, skew_seconds: int
    ) -> None:
        self.client_id = client_id
        self.skew_seconds = skew_seconds
        # PyJWKClient caches the key set for `lifespan` seconds and refetches it when a
        # token names a key id it has not seen (Google rotates keys).
        self._keys = PyJWKClient(
            jwks_url, cache_jwk_set=cache_seconds > 0, lifespan=max(cache_seconds, 1), timeout=5
        )

    async def verify(self, id_token: str) -> GoogleIdentity:
        # PyJWKClient fetches with urllib (blocking): off the event loop.
        claims = await asyncio.to_thread(self._verify, id_token)
        if claims.get("email_verified") not in (True, "true"):
            raise GoogleTokenInvalid("the Google account's email address is not verified")
        email, sub = claims.get("email"), claims.get("sub")
        if not isinstance(email, str) or not isinstance(sub, str) or not email or not sub:
            raise GoogleTokenInvalid("the ID token has no email or subject")
        name = claims.get("name")
        return GoogleIdentity(
            sub=sub, email=email.lower(), name=name if isinstance(name, str) else None
        )

    def _verify(self, id_token: str) -> dict[str, Any]:
        try:
            key = self._keys.get_signing_key_from_jwt(id_token)
        except jwt.PyJWKClientConnectionError as exc:
            raise GoogleKeysUnavailable(str(exc)) from exc
        except (jwt.PyJWKClientError, jwt.PyJWKError, jwt.DecodeError) as exc:
            raise GoogleTokenInvalid(f"the ID token cannot be verified: {exc}") from exc
        try:
            claims: dict[str, Any] = jwt.decode(
                id_token,
                key.key,
                algorithms=["RS256"],
                audience=self.client_id,
                issuer=ISSUERS,
                leeway=self.skew_seconds,
                options={"require": ["exp", "iat", "iss", "aud", "sub"]},
            )
        except jwt.PyJWTError as exc:
            raise GoogleTokenInvalid(f"the ID token is not valid: {exc}") from exc
        return claims
