"""The ledger claims this mailer holds without having called the transport for them.

A claim of ours on an email in :attr:`OwnClaims.not_sent` can be taken over by a
redelivery, never one we may have sent. A claim whose release was lost to a NATS outage is
deleted once NATS answers again, so that a redelivery to any mailer finds no claim and
sends, instead of waiting out the grace for "unknown".
"""

from __future__ import annotations

import asyncio
import logging
from uuid import UUID

from realtoros_mailer.ledger import RECORD_PATIENCE, TRANSIENT, LedgerEntry, SendLedger

log = logging.getLogger(__name__)


class OwnClaims:
    def __init__(self, ledger: SendLedger, owner: str) -> None:
        self._ledger = ledger
        self.owner = owner
        # Emails this process claimed (or tried to) without calling the transport.
        self.not_sent: set[UUID] = set()
        self.in_flight: set[UUID] = set()
        self._cleanups: set[asyncio.Task[None]] = set()

    def ours_unsent(self, email_id: UUID, entry: LedgerEntry) -> bool:
        return entry.state == "claimed" and entry.owner == self.owner and email_id in self.not_sent

    async def release(self, email_id: UUID, revision: int) -> None:
        try:
            await self._ledger.release(email_id, revision)
        except TRANSIENT:
            self.clean_up_later(email_id)
            raise

    def clean_up_later(self, email_id: UUID) -> None:
        """Delete our unsent claim once NATS answers again."""
        task = asyncio.create_task(self._clean_up(email_id), name=f"release-{email_id}")
        self._cleanups.add(task)
        task.add_done_callback(self._cleanups.discard)

    async def _clean_up(self, email_id: UUID) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + RECORD_PATIENCE
        delay = 0.5
        while loop.time() < deadline:
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)
            if email_id in self.in_flight or email_id not in self.not_sent:
                return  # a redelivery is handling it
            try:
                entry = await self._ledger.read(email_id)
                if entry is None:
                    return
                revision, found = entry
                if self.ours_unsent(email_id, found):
                    await self._ledger.release(email_id, revision)
                return
            except TRANSIENT:
                continue
            except Exception:
                log.exception("could not release the unsent claim of email %s", email_id)
                return
