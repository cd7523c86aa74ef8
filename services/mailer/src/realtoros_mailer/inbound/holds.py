"""Emails held because the client replied: the CRM's EmailHeld, kept by the mailer so that
it does not send them.

The CRM holds a client's unsent emails when it records their reply (being composed,
waiting for approval, or queued to send) and says so with EmailHeld (durable
``mailer-email-held``). The mailer keeps the hold in its reply-contexts bucket (``h.<email
id>``, as long as the contexts) and, before claiming an email in the send ledger, sends
nothing that is held: neither an automatic draft (EmailComposed) nor an approval given
before the reply. Only an EmailApproved with ``override_hold`` (the agent approved the held
draft again, knowingly) goes out; the send-once ledger is untouched by a hold (nothing is
claimed), so that approval is still sent at most once.

What a hold cannot stop: an email the transport already accepted (SES cannot recall it),
and one whose send started before EmailHeld reached this bucket (the reply's trip through
the CRM and its outbox, normally well under a second).
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime

from realtoros_contracts import EmailHeld
from realtoros_mailer.inbound.contexts import ReplyContexts

log = logging.getLogger(__name__)


class SendHolds:
    def __init__(self, contexts: ReplyContexts) -> None:
        self._contexts = contexts

    async def hold(self, event: EmailHeld) -> None:
        key = f"h.{event.email_id}"
        current = await self.held_since(event.email_id)
        if current is None or current < event.held_at:
            await self._contexts.kv.put(key, event.held_at.isoformat().encode())
        log.info("email %s held: %s", event.email_id, event.reason)

    async def held_since(self, email_id: uuid.UUID) -> datetime | None:
        key = f"h.{email_id}"
        return await self._contexts.read(key, lambda value: datetime.fromisoformat(value.decode()))
