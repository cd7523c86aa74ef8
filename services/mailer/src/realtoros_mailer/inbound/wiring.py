"""Building the inbound side from the settings: the reply contexts, the intake, the S3
reader, the forwarder and the holds with their consumers, and the local SMTP server (its
health on /readyz). Nothing when MAIL_INBOUND_DOMAIN is unset (replies then go straight to
the agent)."""

from __future__ import annotations

import asyncio
import logging
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from typing import Any

import aioboto3
from faststream.exceptions import NackMessage
from faststream.nats.annotations import NatsMessage

from realtoros_contracts import ClientReplied, EmailHeld
from realtoros_mailer.inbound.contexts import ReplyContexts
from realtoros_mailer.inbound.forward import ReplyForwarder
from realtoros_mailer.inbound.holds import SendHolds
from realtoros_mailer.inbound.intake import InboundConfig, InboundIntake
from realtoros_mailer.inbound.replies import ReplyAddressing
from realtoros_mailer.inbound.ses import S3Mail
from realtoros_mailer.inbound.smtp import start_inbound_smtp
from realtoros_mailer.ledger import SendLedger
from realtoros_mailer.metrics import MailerMetrics
from realtoros_mailer.pacing import PausedError
from realtoros_mailer.sender import Sender
from realtoros_mailer.settings import MailerSettings
from realtoros_mailer.suppression import SuppressionSet
from realtoros_mailer.transports import Transport
from realtoros_runtime.consuming import envelope_of
from realtoros_runtime.worker import Bus

FORWARD_DURABLE = "mailer-reply-forward"
HELD_DURABLE = "mailer-email-held"
log = logging.getLogger(__name__)


@dataclass
class Inbound:
    settings: MailerSettings
    addressing: ReplyAddressing
    intake: InboundIntake
    s3: S3Mail
    session: Any
    servers: list[asyncio.Server] = field(default_factory=list)

    async def open(self, js: Any, resources: AsyncExitStack) -> None:
        await self.addressing.contexts.open(js)
        endpoint = str(self.settings.s3_endpoint_url) if self.settings.s3_endpoint_url else None
        client = self.session.client(
            "s3", region_name=self.settings.aws_region, endpoint_url=endpoint
        )
        self.s3.client = await resources.enter_async_context(client)
        port = self.settings.mail_inbound_smtp_port
        if port is not None:
            host = self.settings.mail_inbound_smtp_host
            self.servers.append(await start_inbound_smtp(self.intake, host, port))

    async def ready(self) -> str | None:
        """Not ready while the configured inbound SMTP server is not listening."""
        if self.settings.mail_inbound_smtp_port is None:
            return None
        if not self.servers or not all(server.is_serving() for server in self.servers):
            return "inbound smtp: not listening"
        return None

    async def close(self) -> None:
        for server in self.servers:
            server.close()
            await server.wait_closed()
        self.servers.clear()


def build_inbound(
    settings: MailerSettings,
    bus: Bus,
    session_kwargs: dict[str, Any],
    suppression: SuppressionSet,
    metrics: MailerMetrics,
) -> Inbound | None:
    if settings.mail_inbound_domain is None:
        return None
    contexts = ReplyContexts(bus.ns)
    config = InboundConfig(
        domain=settings.mail_inbound_domain,
        key=settings.reply_key(),
        max_bytes=settings.mail_inbound_max_bytes,
    )
    return Inbound(
        settings=settings,
        addressing=ReplyAddressing(config.domain, config.key, contexts),
        intake=InboundIntake(config, bus.publisher, contexts, suppression, metrics),
        s3=S3Mail(settings.mail_inbound_max_bytes),
        session=aioboto3.Session(**session_kwargs),
    )


def register_inbound_consumers(
    bus: Bus,
    inbound: Inbound,
    sender: Sender,
    ledger: SendLedger,
    transport: Transport,
    from_address: str,
) -> None:
    """The reply forward (``mailer-reply-forward``) and the holds (``mailer-email-held``);
    the sender checks the holds before each claim."""
    contexts = inbound.addressing.contexts
    holds = SendHolds(contexts)
    sender.holds = holds
    forwarder = ReplyForwarder(
        contexts=contexts,
        sender=sender,
        ledger=ledger,
        transport=transport,
        suppression=sender.suppression,
        from_address=from_address,
    )

    async def on_client_replied_forward_to_agent(event: ClientReplied, msg: NatsMessage) -> None:
        try:
            await forwarder.forward(event, envelope_of(msg).id)
        except PausedError as exc:
            log.warning("reply forward waits %.0fs: %s", exc.delay, exc.reason)
            raise NackMessage(delay=exc.delay) from exc

    async def on_email_held_keep_hold(event: EmailHeld, msg: NatsMessage) -> None:
        await holds.hold(event)

    bus.durable(
        bus.ns.subject(ClientReplied),
        producer="mailer",
        durable=FORWARD_DURABLE,
        description="Forwards a client's reply to the agent's own mailbox (Reply-To: the client).",
    )(on_client_replied_forward_to_agent)
    bus.durable(
        bus.ns.subject(EmailHeld),
        producer="crm",
        durable=HELD_DURABLE,
        description="Keeps the emails the CRM held (the client replied): the mailer sends "
        "none of them unless approved again with override_hold.",
    )(on_email_held_keep_hold)
