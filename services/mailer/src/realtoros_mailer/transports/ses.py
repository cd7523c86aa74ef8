"""Amazon SES (API v2) through one long-lived aioboto3 client.

The client must be built with SDK retries switched off (see :func:`client_config`): the SDK
would otherwise repeat a ``SendEmail`` whose response timed out, i.e. possibly send twice.
Retries are the mailer's, and only when SES surely did not send.
"""

from __future__ import annotations

import logging
import socket
from typing import Any

from aiobotocore.config import AioConfig
from aiohttp import ClientConnectorError
from botocore.exceptions import ClientError, ConnectTimeoutError, EndpointConnectionError

from realtoros_mailer.message import Outgoing
from realtoros_mailer.transports import (
    SendingPaused,
    SendNotAttempted,
    SendRejected,
    Throttled,
    TransportName,
)

log = logging.getLogger(__name__)

# SES refused the message itself: nothing was sent and the same request never will be.
REJECTIONS = frozenset(
    {
        "MessageRejected",
        "MailFromDomainNotVerifiedException",
        "MailFromDomainNotVerified",
        "BadRequestException",
        "InvalidParameterValue",
        "NotFoundException",
    }
)
# SES will send nothing for a while: the whole mailer pauses (nothing fails).
PAUSES = frozenset({"AccountSuspendedException", "SendingPausedException"})
DAILY_QUOTA = "daily message quota exceeded"
# SES turned the request away before acting on it: a later attempt may go through.
THROTTLING = frozenset(
    {
        "TooManyRequestsException",
        "Throttling",
        "ThrottlingException",
        "RequestLimitExceeded",
    }
)


def client_config(connect_timeout: float, read_timeout: float) -> AioConfig:
    return AioConfig(
        retries={"total_max_attempts": 1, "mode": "standard"},
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
    )


def classify(exc: BaseException) -> BaseException | None:
    """The transport error an SDK exception stands for, or None when the outcome is unknown
    (the request may have reached SES: a read timeout, a 5xx, a dropped connection)."""
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        code = str(error.get("Code", ""))
        message = str(error.get("Message", "")) or code
        status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
        # SES v2 reports the used-up daily quota as LimitExceededException (v1: Throttling
        # with this message); both mean no send will succeed for hours.
        if code in PAUSES or code == "LimitExceededException" or DAILY_QUOTA in message.lower():
            return SendingPaused(f"SES paused sending ({code}): {message}")
        if code in THROTTLING or status == 429:
            return Throttled(f"SES throttled the request ({code}): {message}")
        if code in REJECTIONS:
            return SendRejected(f"SES rejected the email ({code}): {message}")
        if 400 <= status < 500:
            # Refused before sending, but not for this email's sake (credentials,
            # permissions): retry, then dead-letter for an operator.
            return SendNotAttempted(f"SES refused the request ({code}): {message}")
        return None
    if isinstance(exc, ConnectTimeoutError):
        return SendNotAttempted(f"could not connect to SES: {exc}")
    if isinstance(exc, EndpointConnectionError):
        cause = exc.kwargs.get("error")
        # Only a failure to connect proves nothing was sent; aiobotocore also maps some
        # mid-request connection errors to EndpointConnectionError.
        if isinstance(cause, ClientConnectorError | socket.gaierror):
            return SendNotAttempted(f"could not connect to SES: {exc}")
    return None


class SesTransport:
    """Sends raw MIME through SES v2 ``SendEmail`` with the email's ids as tags."""

    def __init__(self, *, from_address: str, configuration_set: str | None = None) -> None:
        self.from_address = from_address
        self.configuration_set = configuration_set
        self._client: Any = None

    @property
    def name(self) -> TransportName:
        return "ses"

    @property
    def ready(self) -> bool:
        return self._client is not None

    def attach(self, client: Any) -> None:
        """Use ``client`` (an entered aioboto3 ``sesv2`` client; the composition root owns
        its lifecycle), or None to detach on shutdown."""
        self._client = client

    def request(self, message: Outgoing) -> dict[str, Any]:
        params: dict[str, Any] = {
            "FromEmailAddress": message.from_address,
            "Destination": {"ToAddresses": [message.to_address]},
            "ReplyToAddresses": [message.reply_to],
            "Content": {"Raw": {"Data": message.raw}},
            "EmailTags": [{"Name": k, "Value": v} for k, v in message.tags.items()],
        }
        if self.configuration_set:
            params["ConfigurationSetName"] = self.configuration_set
        return params

    async def max_send_rate(self) -> float | None:
        """The account's maximum send rate (``GetAccount``), or None where the endpoint
        does not answer the call (an SES stand-in; the quota setting applies)."""
        if self._client is None:
            return None
        try:
            account = await self._client.get_account()
        except ClientError as exc:
            status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
            if status in (404, 501):
                return None
            raise
        rate = account.get("SendQuota", {}).get("MaxSendRate")
        return float(rate) if rate else None

    async def send(self, message: Outgoing) -> str:
        if self._client is None:
            raise SendNotAttempted("the SES client is not started")
        try:
            response = await self._client.send_email(**self.request(message))
        except Exception as exc:
            if (known := classify(exc)) is not None:
                raise known from exc
            log.warning("SES send of %s ended without a result: %r", message.email_id, exc)
            raise
        return str(response["MessageId"])
