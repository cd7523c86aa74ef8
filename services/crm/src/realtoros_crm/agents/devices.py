"""Device cookies (OWASP's "slow down online guessing attacks with device cookies"): a
browser or app that signed in to an account gets a cookie signed for that account; a
sign-in attempt that presents it is throttled on its own count, never blocked by failures
from elsewhere (see ``throttle``). The cookie proves only "this device signed in to this
account before", never who is signing in now: the password is still checked."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from fastapi import Request, Response

DEVICE_COOKIE = "realtoros_device"
MAX_AGE = 365 * 86_400


def _signature(key: bytes, email: str, nonce: str) -> str:
    message = f"{email.strip().lower()}\x1f{nonce}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def device_key(secret: str) -> bytes:
    return hmac.new(secret.encode(), b"realtoros/device-cookie", hashlib.sha256).digest()


def known_device(request: Request, key: bytes, email: str) -> str | None:
    """The device id of a valid device cookie of ``email``'s account, or None."""
    nonce, _, signature = request.cookies.get(DEVICE_COOKIE, "").partition(".")
    if not nonce or not hmac.compare_digest(signature, _signature(key, email, nonce)):
        return None
    return nonce


def secure_cookies(request: Request, mode: str) -> bool:
    """Whether cookies get the Secure flag (WEB_SECURE_COOKIES: always, never, auto =
    when the request came over HTTPS)."""
    return mode == "always" or (mode == "auto" and request.url.scheme == "https")


def remember_device(response: Response, key: bytes, email: str, *, secure: bool) -> None:
    nonce = secrets.token_urlsafe(18)
    response.set_cookie(
        DEVICE_COOKIE,
        f"{nonce}.{_signature(key, email, nonce)}",
        max_age=MAX_AGE,
        path="/",  # the API's /auth/login and the web app's /app/login
        httponly=True,
        samesite="lax",
        secure=secure,
    )
