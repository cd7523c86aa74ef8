"""When an email may go out: the agent's sending window, in the recipient's local time.

Pure functions over ``zoneinfo``. Local wall times are resolved to instants and every
comparison is made in UTC, so a DST change never moves a send outside the window (two
aware datetimes sharing a tzinfo compare by wall time in Python, which ignores DST).
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from realtoros_crm.agents.models import MAX_SPREAD_MINUTES


@dataclass(frozen=True)
class SendingWindow:
    days: frozenset[int]
    """ISO weekdays (1 = Monday … 7 = Sunday) on which email may go out."""
    start: time
    end: time
    """Local hours [start, end); end <= start means the whole day."""
    zone: ZoneInfo

    @classmethod
    def of(cls, days: Collection[int], start: time, end: time, zone: str) -> SendingWindow:
        return cls(frozenset(days), start, end, zone_or_utc(zone))


def zone_or_utc(name: str | None) -> ZoneInfo:
    """The IANA zone, or UTC for an empty or unknown name (never a crash at send time)."""
    try:
        return ZoneInfo(name) if name else ZoneInfo("UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def local_instant(day: date, at: time, zone: ZoneInfo) -> datetime:
    """The instant (UTC) of a local wall time. A time skipped by a DST change resolves to
    the same distance after the change (02:30 on a spring-forward night is 03:30)."""
    return datetime.combine(day, at, tzinfo=zone).astimezone(UTC)


def _bounds(day: date, window: SendingWindow) -> tuple[datetime, datetime]:
    """The instants the window opens and closes on a local day."""
    if window.end <= window.start:
        opens = local_instant(day, time(0), window.zone)
        return opens, local_instant(day + timedelta(days=1), time(0), window.zone)
    return local_instant(day, window.start, window.zone), local_instant(
        day, window.end, window.zone
    )


def next_allowed(at: datetime, window: SendingWindow) -> datetime:
    """The first instant at or after ``at`` inside the window (``at`` itself when it is)."""
    if at.tzinfo is None:
        raise ValueError("at must be timezone-aware")
    at_utc = at.astimezone(UTC)
    if not window.days:
        return at_utc
    today = at_utc.astimezone(window.zone).date()
    for offset in range(8):
        day = today + timedelta(days=offset)
        if day.isoweekday() not in window.days:
            continue
        opens, closes = _bounds(day, window)
        if at_utc < opens:
            return opens
        if at_utc < closes:
            return at_utc
    return at_utc  # unreachable with at least one day; keeps the function total


def spread_fraction(client_id: uuid.UUID) -> float:
    """Where in the spread a client's emails fall, in [0, 1): a hash of the client's id, so
    the same client gets the same place on every schedule and reschedule, and many clients
    fall evenly across the spread."""
    digest = hashlib.sha256(b"realtoros-spread:" + client_id.bytes).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def spread(due: datetime, client_id: uuid.UUID, window: SendingWindow, minutes: int) -> datetime:
    """An email step's real due time: ``due`` (already inside the window, see
    :func:`next_allowed`) moved later by the client's share of ``minutes``, in whole seconds,
    never past the window's close that day nor earlier than ``due``. So 50,000 clients whose
    step says 10:00 fall due evenly from 10:00 to 10:00 + ``minutes`` instead of in one
    second; one client always at the same offset (10:07 today, 10:07 next week)."""
    if minutes <= 0 or due.tzinfo is None:
        return due
    due_utc = due.astimezone(UTC)
    span = timedelta(minutes=min(minutes, MAX_SPREAD_MINUTES))
    if window.days:
        _, closes = _bounds(due_utc.astimezone(window.zone).date(), window)
        if closes <= due_utc:  # not inside the window: left as it is
            return due_utc
        span = min(span, closes - due_utc - timedelta(seconds=1))
    offset = int(span.total_seconds() * spread_fraction(client_id))
    return due_utc + timedelta(seconds=max(offset, 0))
