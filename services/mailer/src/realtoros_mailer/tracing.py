"""A span around each send, when this process exports traces (SES's client, aiobotocore,
has no OpenTelemetry instrumentation that works with it)."""

from __future__ import annotations

from opentelemetry.trace import SpanKind

from realtoros_mailer.message import Outgoing
from realtoros_mailer.transports import Transport, TransportName
from realtoros_runtime.telemetry import span, tracing_enabled


class TracedTransport:
    def __init__(self, inner: Transport) -> None:
        self._inner = inner

    @property
    def name(self) -> TransportName:
        return self._inner.name

    async def send(self, message: Outgoing) -> str:
        with span(
            f"{self.name} send",
            kind=SpanKind.CLIENT,
            **{"mail.transport": self.name, "realtoros.email_id": str(message.email_id)},
        ) as current:
            provider_id = await self._inner.send(message)
            current.set_attribute("mail.provider_message_id", provider_id)
            return provider_id


def traced_transport(transport: Transport) -> Transport:
    """``transport`` with a CLIENT span per send (itself when tracing is off)."""
    return TracedTransport(transport) if tracing_enabled() else transport
