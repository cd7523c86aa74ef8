"""The local inbound SMTP server (aiosmtpd) that ``./dev run`` starts, so a developer can
reply with smtplib or any mail client. It runs on the mailer's own event loop (not
aiosmtpd's threaded Controller) because the intake publishes on the service's broker.

It accepts mail for the inbound domain only, refuses anything over the size limit at the
SMTP level (552), and answers 451 (try again) when the reply could not be published.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session

from realtoros_mailer.inbound.intake import InboundIntake

log = logging.getLogger(__name__)


class InboundHandler:
    def __init__(self, intake: InboundIntake) -> None:
        self._intake = intake

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        if not address.lower().endswith("@" + self._intake.config.domain.lower()):
            self._intake.rejected("not-our-domain")
            return "550 5.1.1 not a mailbox of this server"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        try:
            result = await self._intake.take(raw, list(envelope.rcpt_tos), door="smtp")
        except Exception:
            log.exception("inbound email could not be handled; the sender may retry")
            return "451 4.3.0 temporarily unable to accept the message"
        return f"250 OK {result}"


async def start_inbound_smtp(intake: InboundIntake, host: str, port: int) -> asyncio.Server:
    handler = InboundHandler(intake)
    loop = asyncio.get_running_loop()

    def protocol() -> SMTP:
        return SMTP(
            handler,
            data_size_limit=intake.config.max_bytes,
            enable_SMTPUTF8=True,
            decode_data=False,
            hostname="realtoros-inbound",
        )

    server = await loop.create_server(protocol, host=host, port=port)
    log.info("inbound SMTP listening on %s:%d for @%s", host, port, intake.config.domain)
    return server
