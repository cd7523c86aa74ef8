"""SMTP (aiosmtplib): for a local mail catcher (MailHog, Mailpit, aiosmtpd) or a relay.

A refusal before or instead of DATA (connection refused, HELO, AUTH, MAIL FROM, RCPT TO)
means nothing was sent: a 5xx refusal is final, anything else may be retried. An error
after DATA was sent (a timeout, a dropped connection) leaves the outcome unknown.
"""

from __future__ import annotations

import logging

import aiosmtplib
from aiosmtplib import errors

from realtoros_mailer.message import Outgoing
from realtoros_mailer.transports import SendNotAttempted, SendRejected, TransportName

log = logging.getLogger(__name__)

_REFUSALS = (errors.SMTPSenderRefused, errors.SMTPRecipientRefused, errors.SMTPDataError)


class SmtpTransport:
    def __init__(
        self,
        *,
        host: str,
        port: int,
        username: str | None = None,
        password: str | None = None,
        starttls: bool = False,
        timeout: float = 20.0,
    ) -> None:
        self.host = host
        self.port = port
        self._username = username
        self._password = password
        self._starttls = starttls
        self._timeout = timeout

    @property
    def name(self) -> TransportName:
        return "smtp"

    async def send(self, message: Outgoing) -> str:
        try:
            await aiosmtplib.send(
                message.raw,
                sender=message.from_address,
                recipients=[message.to_address],
                hostname=self.host,
                port=self.port,
                username=self._username,
                password=self._password,
                start_tls=self._starttls,
                timeout=self._timeout,
            )
        except Exception as exc:
            if (known := classify(exc)) is not None:
                raise known from exc
            log.warning("SMTP send of %s ended without a result: %r", message.email_id, exc)
            raise
        return f"smtp:{message.email_id}"


def classify(exc: BaseException) -> BaseException | None:
    """What an aiosmtplib error means for the send (None: unknown, maybe sent)."""
    if isinstance(exc, errors.SMTPRecipientsRefused):
        codes = [r.code for r in exc.recipients]
        final = bool(codes) and all(code >= 500 for code in codes)
        kind = SendRejected if final else SendNotAttempted
        return kind(f"the SMTP server refused the recipient: {codes}")
    if isinstance(exc, _REFUSALS):
        kind = SendRejected if exc.code >= 500 else SendNotAttempted
        return kind(f"the SMTP server refused the email ({exc.code}): {exc.message}")
    if isinstance(exc, errors.SMTPAuthenticationError | errors.SMTPHeloError):
        return SendNotAttempted(f"the SMTP server refused the session ({exc.code})")
    if isinstance(exc, errors.SMTPConnectError):  # incl. a connect timeout
        return SendNotAttempted(f"could not connect to the SMTP server: {exc}")
    return None
