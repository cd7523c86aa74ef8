"""Sending one email at most once, and always reporting what became of it.

The order is what makes it safe: claim the email id in the ledger, call the transport,
record the result, then publish it. A crash or error at any point leaves the ledger in a
state from which a redelivery does the right thing without sending twice:

* claim exists, ``sent``/``failed``/``unknown`` → publish that outcome again (same event
  id, so JetStream drops it if the first publish landed);
* claim exists, still ``claimed`` by this process, which knows it never called the
  transport for it (the claim's reply or its release was lost to a NATS restart) → take
  the claim over and send;
* claim exists, still ``claimed`` by another process and younger than the claim grace →
  that process may be sending right now: retry the delivery after the grace
  (:class:`ClaimInProgress`);
* claim exists, still ``claimed``, otherwise → the attempt died mid-send: report
  ``unknown``;
* the email is held because the client replied (EmailHeld; checked right before the
  claim) and this is not an approval given again knowingly → nothing is claimed, sent or
  published (``inbound/holds.py``);
* the address is in the suppression set → ``skipped`` (recorded, never sent);
* the agent has no signature or no postal address (CAN-SPAM) → ``failed`` with that
  reason, never sent (the CRM refuses such an approval first);
* sending is paused (daily quota, account paused) → nothing is claimed: the delivery is
  retried after the pause (:class:`PausedError`), the email does not fail;
* transport surely did not send → release the claim and raise (the middleware retries);
* transport outcome unknown → keep the claim and raise: the redelivery reports ``unknown``.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Literal

from realtoros_contracts.rendering import missing_details_reason, missing_sender_details
from realtoros_mailer.inbound.holds import SendHolds
from realtoros_mailer.inbound.replies import ReplyAddressing
from realtoros_mailer.ledger import (
    TRANSIENT,
    Claim,
    LedgerEntry,
    Outcome,
    SendLedger,
)
from realtoros_mailer.message import InvalidEmail, Outgoing, Sendable, build_message
from realtoros_mailer.metrics import MailerMetrics
from realtoros_mailer.outcomes import (
    DEFAULT_CLAIM_GRACE,
    REASON_LIMIT,
    ClaimInProgress,
    Pacing,
    failed_event,
    failed_event_id,
    instance_id,
    sent_event,
    sent_event_id,
    unknown_reason,
)
from realtoros_mailer.own_claims import OwnClaims
from realtoros_mailer.pacing import PausedError
from realtoros_mailer.reserved import refusal_reason, reserved_domain
from realtoros_mailer.suppression import SuppressionSet
from realtoros_mailer.transports import (
    SendingPaused,
    SendNotAttempted,
    SendRejected,
    Throttled,
    Transport,
)
from realtoros_runtime.publisher import EventPublisher

__all__ = ["ClaimInProgress", "Pacing", "Sender"]

log = logging.getLogger(__name__)


class Sender:
    def __init__(
        self,
        *,
        ledger: SendLedger,
        transport: Transport,
        publisher: EventPublisher,
        from_address: str,
        suppression: SuppressionSet,
        pacing: Pacing | None = None,
        metrics: MailerMetrics | None = None,
        claim_grace: float = DEFAULT_CLAIM_GRACE,
        owner: str | None = None,
        refuse_reserved: bool = False,
        replies: ReplyAddressing | None = None,
    ) -> None:
        self.replies = replies
        self.holds: SendHolds | None = None
        self.owner = owner or instance_id()
        self.claim_grace = claim_grace
        self.refuse_reserved = refuse_reserved
        self._claims = OwnClaims(ledger, self.owner)
        self._ledger = ledger
        self._transport = transport
        self._publisher = publisher
        self._from_address = from_address
        self.suppression = suppression
        self.pacing = pacing or Pacing()
        self.metrics = metrics or MailerMetrics()

    def _check_pause(self) -> None:
        if (left := self.pacing.pause.remaining()) > 0:
            raise PausedError(self.pacing.pause.reason or "sending is paused", left)

    async def wait_for_pacing(self) -> None:
        """The pause (PausedError) and the shared rate limit every send goes through,
        before anything is claimed; the reply forwards take it too."""
        self._check_pause()
        if self.pacing.limiter is not None:
            await self.pacing.limiter.acquire()
        self._check_pause()

    async def deliver(self, event: Sendable) -> None:
        """Send ``event``'s email unless the ledger knows it; publish its outcome."""
        # Built before claiming: a message that cannot be built is a certain failure, not
        # a send attempt, and must never leave a claim behind.
        problem: str | None = None
        outgoing: Outgoing | None = None
        try:
            reply_address = self.replies.address_for(event) if self.replies else None
            outgoing = build_message(event, self._from_address, reply_address=reply_address)
        except InvalidEmail as exc:
            problem = str(exc)
        if outgoing is not None:
            # Before claiming: waiting here must never leave a claim that a crash would
            # turn into an "unknown".
            await self.wait_for_pacing()
            # Last, right before the claim: the client may have replied while it waited.
            if await self._held(event):
                return
        if event.email_id in self._claims.in_flight:
            raise ClaimInProgress("this mailer is sending it right now", self.claim_grace / 4)
        self._claims.in_flight.add(event.email_id)
        try:
            await self._claim_and_send(event, outgoing, problem)
        finally:
            self._claims.in_flight.discard(event.email_id)

    async def _held(self, event: Sendable) -> bool:
        """Held because the client replied (the CRM's EmailHeld): not sent, nothing
        claimed, nothing published (the CRM already shows it held). An approval given
        again knowingly (``override_hold``) is sent."""
        if self.holds is None or getattr(event, "override_hold", False):
            return False
        if (since := await self.holds.held_since(event.email_id)) is None:
            return False
        self.metrics.inbound_held.inc()
        log.warning(
            "email %s not sent: held since %s (the client replied)",
            event.email_id,
            since.isoformat(),
        )
        return True

    async def _claim_and_send(
        self, event: Sendable, outgoing: Outgoing | None, problem: str | None
    ) -> None:
        # A claim of ours found below is one this process never sent only if an earlier
        # delivery left the email in the set; this delivery adds it just now.
        unsent_before = event.email_id in self._claims.not_sent
        self._claims.not_sent.add(event.email_id)
        try:
            claim = await self._ledger.claim(event.email_id, self.owner)
        except TRANSIENT:
            # The claim may land after all (a publish buffered across a reconnect).
            self._claims.clean_up_later(event.email_id)
            raise
        if claim.existing is not None:
            if unsent_before and self._claims.ours_unsent(event.email_id, claim.existing):
                log.info("email %s: taking over our own claim that never sent", event.email_id)
                revision = await self._ledger.take_over(event.email_id, claim.revision, self.owner)
                claim = Claim(revision=revision, existing=None)
            else:
                self._claims.not_sent.discard(event.email_id)
                await self._report_existing(event, claim)
                return
        if outgoing is None:
            await self._fail(event, "failed", problem or "the email could not be built")
        elif missing := missing_sender_details(event.delivery):
            await self._fail(event, "failed", missing_details_reason(missing), last=claim.revision)
        elif (why := await self.suppression.check(outgoing.to_address)) is not None:
            reason = f"address suppressed: {why.reason}"
            await self._fail(event, "skipped", reason, last=claim.revision)
        elif self.refuse_reserved and (domain := reserved_domain(outgoing.to_address)):
            await self._fail(event, "skipped", refusal_reason(domain), last=claim.revision)
        else:
            await self._send(event, outgoing, claim.revision)
        self._claims.not_sent.discard(event.email_id)

    async def _send(self, event: Sendable, outgoing: Outgoing, revision: int) -> None:
        self._claims.not_sent.discard(event.email_id)  # from here on, it may have been sent
        try:
            message_id = await self._transport.send(outgoing)
        except SendRejected as exc:
            await self._fail(event, "failed", str(exc))
            return
        except SendingPaused as exc:
            self._claims.not_sent.add(event.email_id)
            await self._claims.release(event.email_id, revision)
            self.pacing.pause.pause(str(exc), self.pacing.pause_seconds)
            self.metrics.paused.set(1)
            log.error("sending paused for %.0fs: %s", self.pacing.pause_seconds, exc)
            raise PausedError(str(exc), self.pacing.pause_seconds) from exc
        except SendNotAttempted as exc:
            if isinstance(exc, Throttled):
                self.metrics.ses_throttles.inc()
            self._claims.not_sent.add(event.email_id)
            await self._claims.release(event.email_id, revision)
            raise
        # Any other error: the outcome is unknown. The claim stays, so the redelivery
        # reports "unknown" instead of sending a second copy.
        entry = LedgerEntry(
            state="sent",
            at=datetime.now(UTC),
            message_id=message_id,
            transport=self._transport.name,
        )
        self.metrics.paused.set(0)
        if self._transport.name == "ses":
            self.metrics.ses_sends.inc()
        await self._ledger.record(event.email_id, entry)
        self.metrics.emails.labels("sent").inc()
        log.info("sent email %s via %s (%s)", event.email_id, entry.transport, message_id)
        await self._publish_sent(event, entry)

    async def _report_existing(self, event: Sendable, claim: Claim) -> None:
        entry = claim.existing
        assert entry is not None
        if entry.state == "sent":
            log.info("email %s was already sent; reporting it again", event.email_id)
            await self._publish_sent(event, entry)
        elif entry.state == "claimed":
            if entry.owner != self.owner and (left := self.claim_grace - entry.age()) > 0:
                raise ClaimInProgress(
                    f"claimed {entry.age():.0f}s ago by {entry.owner or 'another mailer'}",
                    left + 1.0,
                )
            log.warning("email %s: a claim without a result; reporting unknown", event.email_id)
            await self._fail(event, "unknown", unknown_reason(entry.at), last=claim.revision)
        else:
            await self._publish_failed(event, entry)

    async def _fail(
        self,
        event: Sendable,
        outcome: Outcome,
        reason: str,
        *,
        last: int | None = None,
    ) -> None:
        state: Literal["failed", "unknown"] = "unknown" if outcome == "unknown" else "failed"
        entry = LedgerEntry(
            state=state, at=datetime.now(UTC), outcome=outcome, reason=reason[:REASON_LIMIT]
        )
        # The ledger first: if the publish is lost, the redelivery finds the outcome.
        await self._ledger.record(event.email_id, entry, last=last)
        self.metrics.emails.labels(outcome).inc()
        log.warning("email %s not sent (%s): %s", event.email_id, outcome, entry.reason)
        await self._publish_failed(event, entry)

    async def _publish_sent(self, event: Sendable, entry: LedgerEntry) -> None:
        sent = sent_event(event, entry, self._transport.name)
        if self.replies is not None:  # before the publish: a redelivery writes it again
            await self.replies.remember(event, sent.provider_message_id, sent.transport)
        await self._publisher.publish(sent, event_id=sent_event_id(event.email_id))

    async def _publish_failed(self, event: Sendable, entry: LedgerEntry) -> None:
        failed = failed_event(event, entry)
        await self._publisher.publish(failed, event_id=failed_event_id(event.email_id))
