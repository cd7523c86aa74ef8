"""The sending side of replies: the reply address an email gets, and what is remembered
of it once sent (for matching and forwarding the replies)."""

from __future__ import annotations

from dataclasses import dataclass

from realtoros_contracts import EmailApproved, EmailComposed
from realtoros_mailer.inbound.contexts import ReplyContext, ReplyContexts, message_ids_of
from realtoros_mailer.inbound.tokens import reply_address


@dataclass(frozen=True)
class ReplyAddressing:
    domain: str
    key: bytes
    contexts: ReplyContexts

    def address_for(self, event: EmailComposed | EmailApproved) -> str | None:
        """The email's own reply address, unless its agent wants replies directly."""
        if not event.delivery.detect_replies:
            return None
        return reply_address(event.email_id, self.key, self.domain)

    async def remember(
        self, event: EmailComposed | EmailApproved, provider_message_id: str, transport: str
    ) -> None:
        if not event.delivery.detect_replies:
            return
        context = ReplyContext(
            **event.email_ids(),
            forward_to=event.delivery.reply_to,
            forward_name=event.delivery.from_name,
            to_email=event.delivery.to_email,
            subject=event.subject,
            provider_message_id=provider_message_id,
        )
        ids = message_ids_of(provider_message_id, transport, event.email_id)
        await self.contexts.remember(context, ids)
