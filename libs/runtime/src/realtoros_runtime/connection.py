"""How a service connects to NATS: its own user and inbox prefix, TLS, and the readiness
check that the connection is up."""

from __future__ import annotations

import ssl
from typing import Any

from faststream.nats import NatsBroker
from faststream.nats.security import NatsSecurity, NatsUserPassword

from realtoros_contracts import inbox_prefix
from realtoros_runtime.readiness import ReadyCheck
from realtoros_runtime.settings import ServiceSettings


def nats_check(broker: NatsBroker) -> ReadyCheck:
    async def nats_connected() -> str | None:
        return None if await broker.ping(2.0) else "nats: not connected"

    return nats_connected


def nats_connect_options(settings: ServiceSettings) -> dict[str, Any]:
    """The service's own NATS user (replies on its own inbox prefix, the only one its
    permissions let it read) and, with a CA file, TLS verified against it."""
    context = None
    if settings.nats_tls_ca is not None:
        context = ssl.create_default_context(cadata=settings.nats_tls_ca)
    if settings.nats_user is None or settings.nats_password is None:
        return {"security": NatsSecurity(ssl_context=context)} if context else {}
    security = NatsUserPassword(
        settings.nats_user, settings.nats_password.get_secret_value(), ssl_context=context
    )
    return {"security": security, "inbox_prefix": inbox_prefix(settings.nats_user)}
