"""Verifying Amazon SNS messages (the SES event notifications arrive through SNS).

Each message is signed by SNS with the private key of a certificate it publishes at
``SigningCertURL``. A message is trusted only if that URL is on the genuine SNS host
(``https://sns.<region>.amazonaws.com/…pem``; tests configure a local pattern) and the
signature over the canonical string verifies with the certificate's key: RSA PKCS#1 v1.5
with SHA-1 (``SignatureVersion`` 1) or SHA-256 (2). Certificates are cached by URL.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any

import httpx
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

NOTIFICATION_KEYS = ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type")
SUBSCRIPTION_KEYS = (
    "Message",
    "MessageId",
    "SubscribeURL",
    "Timestamp",
    "Token",
    "TopicArn",
    "Type",
)
SUBSCRIPTION_TYPES = ("SubscriptionConfirmation", "UnsubscribeConfirmation")
HASHES: dict[str, type[hashes.HashAlgorithm]] = {"1": hashes.SHA1, "2": hashes.SHA256}
CACHE_LIMIT = 64


class NotTrusted(Exception):
    """The message is not a genuine SNS message (or cannot be shown to be one)."""


def string_to_sign(message: dict[str, Any]) -> bytes:
    """The canonical form SNS signs: ``key\\nvalue\\n`` for each signed key present, in
    byte order of the key names; Subject only when the message has one."""
    kind = message.get("Type")
    if kind == "Notification":
        keys: tuple[str, ...] = NOTIFICATION_KEYS
    elif kind in SUBSCRIPTION_TYPES:
        keys = SUBSCRIPTION_KEYS
    else:
        raise NotTrusted(f"unknown message type {str(kind)[:40]!r}")
    parts = []
    for key in keys:
        value = message.get(key)
        if value is None:
            if key == "Subject":
                continue
            raise NotTrusted(f"{key} is missing")
        if not isinstance(value, str):
            raise NotTrusted(f"{key} is not a string")
        parts.append(f"{key}\n{value}\n")
    return "".join(parts).encode()


class SnsVerifier:
    def __init__(self, url_pattern: str, http: httpx.AsyncClient) -> None:
        self._pattern = re.compile(url_pattern)
        self._http = http
        self._keys: dict[str, rsa.RSAPublicKey] = {}

    def trusted_url(self, url: object) -> bool:
        return isinstance(url, str) and bool(self._pattern.match(url))

    async def verify(self, message: dict[str, Any]) -> None:
        """Return if ``message`` is genuinely from SNS; raise :class:`NotTrusted` if not."""
        algorithm = HASHES.get(str(message.get("SignatureVersion")))
        if algorithm is None:
            raise NotTrusted("unsupported or missing SignatureVersion")
        cert_url = message.get("SigningCertURL") or message.get("SigningCertUrl")
        if not self.trusted_url(cert_url) or not str(cert_url).endswith(".pem"):
            raise NotTrusted("the signing certificate is not on the SNS host")
        try:
            signature = base64.b64decode(str(message.get("Signature") or ""), validate=True)
        except (binascii.Error, ValueError):
            raise NotTrusted("the signature is not base64") from None
        if not signature:
            raise NotTrusted("the message is not signed")
        key = await self._public_key(str(cert_url))
        try:
            key.verify(signature, string_to_sign(message), padding.PKCS1v15(), algorithm())
        except InvalidSignature:
            raise NotTrusted("the signature does not verify") from None

    async def _public_key(self, url: str) -> rsa.RSAPublicKey:
        if (cached := self._keys.get(url)) is not None:
            return cached
        try:
            response = await self._http.get(url, follow_redirects=False)
        except httpx.HTTPError as exc:
            raise CertificateUnavailable(f"could not fetch the signing certificate: {exc}") from exc
        if response.status_code != 200:
            raise NotTrusted(f"the signing certificate URL answered {response.status_code}")
        try:
            cert = x509.load_pem_x509_certificate(response.content)
        except ValueError:
            raise NotTrusted("the signing certificate is not a PEM certificate") from None
        key = cert.public_key()
        if not isinstance(key, rsa.RSAPublicKey):
            raise NotTrusted("the signing certificate has no RSA key")
        if len(self._keys) >= CACHE_LIMIT:
            self._keys.clear()
        self._keys[url] = key
        return key


class CertificateUnavailable(Exception):
    """The certificate could not be fetched (a network problem): SNS should retry."""
