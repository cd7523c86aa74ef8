"""Transports hand a built message to whatever delivers it, and say how a failure ended.

A transport raises :class:`SendRejected` when the message was definitely not sent and
retrying will not help, :class:`SendNotAttempted` when it was definitely not sent and a
retry may succeed; any other exception means the outcome is unknown (the request may have
been sent), so the mailer must not send again.
"""

from __future__ import annotations

from typing import Literal, Protocol

from realtoros_mailer.message import Outgoing

TransportName = Literal["ses", "file", "smtp"]


class SendRejected(Exception):
    """Nothing was sent and never will be with this input (e.g. SES MessageRejected)."""


class SendNotAttempted(Exception):
    """Nothing was sent, but a later attempt may succeed (throttling, connection refused)."""


class Throttled(SendNotAttempted):
    """The provider turned the request away for going too fast: retried with backoff."""


class SendingPaused(SendNotAttempted):
    """The provider will send nothing for a while (daily quota used up, account paused):
    every email waits, none fails."""


class Transport(Protocol):
    @property
    def name(self) -> TransportName: ...

    async def send(self, message: Outgoing) -> str:
        """Deliver the message; returns the provider's message id."""
        ...


__all__ = [
    "SendNotAttempted",
    "SendRejected",
    "SendingPaused",
    "Throttled",
    "Transport",
    "TransportName",
]
