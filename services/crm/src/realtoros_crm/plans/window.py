"""When an email may go out: the agent's sending window, in the recipient's local time.

Pure functions over ``zoneinfo``. Local wall times are resolved to instants and every
comparison is made in UTC, so a DST change never moves a send outside the window (two
aware datetimes sharing a tzinfo compare by wall time in Python, which ignores DST).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


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
        opens = local_instant(day, window.start, window.zone)
        if window.end <= window.start:
            closes = local_instant(day + timedelta(days=1), time(0), window.zone)
            opens = local_instant(day, time(0), window.zone)
        else:
            closes = local_instant(day, window.end, window.zone)
        if at_utc < opens:
            return opens
        if at_utc < closes:
            return at_utc
    return at_utc  # unreachable with at least one day; keeps the function total
