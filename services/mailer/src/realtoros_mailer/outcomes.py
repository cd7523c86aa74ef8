"""The pieces of a send's outcome: the event ids, the claim owner's name, the reason an
unknown outcome gives, and what makes a delivery wait (another claim, the pacing)."""

from __future__ import annotations

import os
import socket
import uuid
from dataclasses import dataclass, field
from datetime import datetime

from realtoros_contracts import EmailFailed, EmailSent
from realtoros_contracts.events import Transport
from realtoros_mailer.ledger import LedgerEntry
from realtoros_mailer.message import Sendable
from realtoros_mailer.pacing import SendingPause
from realtoros_mailer.quota import SendQuota

REASON_LIMIT = 2000
DEFAULT_CLAIM_GRACE = 90.0


def instance_id() -> str:
    """This process, as named in the claims it writes: host, pid and a random part."""
    return f"{socket.gethostname()}/{os.getpid()}/{uuid.uuid4().hex[:8]}"


class ClaimInProgress(Exception):
    """Another mailer claimed this email recently and may be sending it: retry the
    delivery after ``delay`` seconds (never a failure)."""

    def __init__(self, reason: str, delay: float) -> None:
        super().__init__(reason)
        self.reason = reason
        self.delay = delay


def sent_event_id(email_id: object) -> str:
    return f"sent:{email_id}"


def failed_event_id(email_id: object) -> str:
    return f"failed:{email_id}"


def unknown_reason(claimed_at: datetime) -> str:
    return (
        f"a send attempt started at {claimed_at.isoformat()} but its result was never "
        "recorded (the mailer stopped or lost its connection mid-send), so the email may "
        "or may not have been delivered; it was not sent again. Check with the client "
        "before resending."
    )


@dataclass
class Pacing:
    """The rate limit and the pause every send goes through."""

    limiter: SendQuota | None = None
    pause: SendingPause = field(default_factory=SendingPause)
    pause_seconds: float = 300.0


def sent_event(event: Sendable, entry: LedgerEntry, transport: Transport) -> EmailSent:
    """What a ``sent`` ledger entry reports."""
    return EmailSent(
        **event.email_ids(),
        provider_message_id=entry.message_id or "",
        transport=entry.transport or transport,
        sent_at=entry.at,
    )


def failed_event(event: Sendable, entry: LedgerEntry) -> EmailFailed:
    """What a ``failed`` or ``unknown`` ledger entry reports."""
    return EmailFailed(
        **event.email_ids(),
        outcome=entry.outcome or "unknown",
        reason=(entry.reason or "no reason was recorded")[:REASON_LIMIT],
        failed_at=entry.at,
    )
