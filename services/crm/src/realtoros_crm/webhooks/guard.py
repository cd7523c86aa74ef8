"""Where webhook requests may go (SSRF): never to a private, loopback, link-local, shared or
reserved address. A host name is checked at connect time, on the addresses it resolves to
then, and the connection is made to exactly those addresses (no second lookup a DNS
rebinding could change). Tests allow loopback receivers with WEBHOOK_ALLOW_LOOPBACK."""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from aiohttp import ThreadedResolver
from aiohttp.abc import AbstractResolver, ResolveResult

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class BlockedAddress(OSError):
    """The destination is an address webhooks may not reach."""


class BadWebhookUrl(ValueError):
    """Not a URL a webhook may be sent to (the message says why)."""


def address_allowed(address: str, *, allow_loopback: bool) -> bool:
    ip: IPAddress = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_loopback:
        return allow_loopback
    return ip.is_global and not ip.is_multicast


def check_url(url: str, *, allow_loopback: bool) -> str:
    """The URL, if an endpoint may have it: HTTPS (plain HTTP only to a loopback receiver
    when allowed), no credentials in it, and not a literal address webhooks may not reach."""
    parts = urlsplit(url)
    host = parts.hostname
    if parts.scheme not in ("https", "http") or not host:
        raise BadWebhookUrl("must be an https:// URL")
    if parts.username or parts.password:
        raise BadWebhookUrl("must not carry a user name or password")
    literal = literal_address(host)
    if literal is not None and not address_allowed(literal, allow_loopback=allow_loopback):
        raise BadWebhookUrl("must not point at a private, loopback or link-local address")
    if parts.scheme == "http" and not (allow_loopback and literal is not None):
        raise BadWebhookUrl("must be an https:// URL")
    return url


def literal_address(host: str) -> str | None:
    try:
        ipaddress.ip_address(host.strip("[]").split("%", 1)[0])
    except ValueError:
        return None
    return host.strip("[]")


class GuardedResolver(AbstractResolver):
    """Resolves as usual, then refuses the whole answer if any address is not allowed."""

    def __init__(self, *, allow_loopback: bool) -> None:
        self._inner = ThreadedResolver()
        self._allow_loopback = allow_loopback

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        answers = await self._inner.resolve(host, port, family)
        for answer in answers:
            if not address_allowed(answer["host"], allow_loopback=self._allow_loopback):
                raise BlockedAddress(f"{host} resolves to {answer['host']}: not allowed")
        return answers

    async def close(self) -> None:
        await self._inner.close()
