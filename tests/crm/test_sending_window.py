"""The sending window: the next instant an email may go out, in the recipient's local time
(pure functions, no services)."""

from __future__ import annotations

from datetime import UTC, datetime, time, tzinfo
from zoneinfo import ZoneInfo

import pytest

from realtoros_crm.plans.models import PlanStep
from realtoros_crm.plans.runs import step_due_at
from realtoros_crm.plans.window import SendingWindow, next_allowed, zone_or_utc

MON_SAT = (1, 2, 3, 4, 5, 6)
NY = ZoneInfo("America/New_York")


def window(zone: str = "UTC", days: tuple[int, ...] = MON_SAT) -> SendingWindow:
    return SendingWindow.of(days, time(9), time(18), zone)


def at(zone: tzinfo, year: int, month: int, day: int, hour: int, minute: int) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=zone)


@pytest.mark.parametrize(
    ("local", "expected"),
    [
        # Wednesday 2026-11-25 — inside the window: unchanged
        ("2026-11-25T12:30", "2026-11-25T12:30"),
        # 03:00 on a weekday: the same day's opening, never 3 a.m.
        ("2026-11-25T03:00", "2026-11-25T09:00"),
        # at the closing time (the end is excluded): the next day's opening
        ("2026-11-25T18:00", "2026-11-26T09:00"),
        # Saturday evening: Sunday is not a sending day, so Monday 09:00
        ("2026-11-28T19:00", "2026-11-30T09:00"),
        # all Sunday long: Monday 09:00
        ("2026-11-29T11:00", "2026-11-30T09:00"),
        # the opening itself is inside
        ("2026-11-25T09:00", "2026-11-25T09:00"),
    ],
)
def test_next_allowed_in_the_agents_zone(local: str, expected: str) -> None:
    moment = datetime.fromisoformat(local).replace(tzinfo=NY)
    expected_at = datetime.fromisoformat(expected).replace(tzinfo=NY)
    assert next_allowed(moment, window("America/New_York")) == expected_at


def test_the_window_is_in_the_recipients_zone_not_utc() -> None:
    # 23:00 UTC on a Wednesday is 08:00 Thursday in Tokyo: wait one hour, not until the
    # next UTC morning.
    tokyo = ZoneInfo("Asia/Tokyo")
    result = next_allowed(at(UTC, 2026, 11, 25, 23, 0), window("Asia/Tokyo"))
    assert result == at(tokyo, 2026, 11, 26, 9, 0)
    assert result.tzinfo is UTC


def test_spring_forward_keeps_the_local_opening() -> None:
    # 2026-03-08: New York moves from EST (-5) to EDT (-4) at 02:00. A 03:00 local time
    # that night opens at 09:00 EDT = 13:00 UTC (an hour earlier in UTC than the day before).
    result = next_allowed(at(UTC, 2026, 3, 8, 8, 0), window("America/New_York", (7,)))
    assert result == at(UTC, 2026, 3, 8, 13, 0)
    before = next_allowed(at(UTC, 2026, 3, 1, 8, 0), window("America/New_York", (7,)))
    assert before == at(UTC, 2026, 3, 1, 14, 0)


def test_fall_back_compares_instants_not_wall_times() -> None:
    # 2026-11-01 01:30 happens twice in New York. 17:30 EST (the second hour is long past)
    # is inside a 09:00-18:00 window; 18:30 EST is after it, so Monday's opening.
    win = window("America/New_York", (1, 7))
    inside = at(UTC, 2026, 11, 1, 22, 30)  # 17:30 EST
    assert next_allowed(inside, win) == inside
    after = at(UTC, 2026, 11, 1, 23, 30)  # 18:30 EST
    assert next_allowed(after, win) == at(NY, 2026, 11, 2, 9, 0)


def test_a_time_skipped_by_dst_resolves_after_the_change() -> None:
    # A window opening at 02:30 on the spring-forward night opens at 03:30 EDT.
    win = SendingWindow.of((7,), time(2, 30), time(18), "America/New_York")
    result = next_allowed(at(UTC, 2026, 3, 8, 5, 0), win)
    assert result == at(UTC, 2026, 3, 8, 7, 30)
    assert result.astimezone(NY).hour == 3


def test_no_sending_days_means_no_window_and_unknown_zones_fall_back_to_utc() -> None:
    moment = at(UTC, 2026, 11, 29, 3, 0)
    assert next_allowed(moment, window(days=())) == moment
    assert zone_or_utc("Not/AZone") == ZoneInfo("UTC")
    assert zone_or_utc(None) == ZoneInfo("UTC")
    with pytest.raises(ValueError, match="timezone-aware"):
        next_allowed(datetime(2026, 1, 1), window())  # naive: refused


def _step(delay: int, action: str = "email", hour: int = 10) -> PlanStep:
    return PlanStep(delay_days=delay, time_of_day=time(hour), action=action, purpose="x")


def test_default_plan_for_a_client_added_on_a_friday_afternoon() -> None:
    # Added Friday 2026-11-20 at 15:00 in New York; Mon-Sat 09:00-18:00.
    start = at(NY, 2026, 11, 20, 15, 0)
    win = window("America/New_York")
    due = {d: step_due_at(start, _step(d), win).astimezone(NY) for d in (1, 3, 7, 14, 30)}
    assert due[1] == at(NY, 2026, 11, 21, 10, 0)  # Day 1: Saturday 10:00
    assert due[3] == at(NY, 2026, 11, 23, 10, 0)  # Day 3: Monday 10:00
    assert due[7] == at(NY, 2026, 11, 27, 10, 0)  # Week 1: Friday
    assert due[14] == at(NY, 2026, 12, 4, 10, 0)  # Week 2: Friday
    assert due[30] == at(NY, 2026, 12, 21, 9, 0)  # Month 1 falls on a Sunday: Monday's opening


def test_a_call_step_is_not_moved_into_the_email_window() -> None:
    start = at(NY, 2026, 11, 20, 15, 0)
    win = window("America/New_York")
    assert step_due_at(start, _step(2, "call", 19), win) == at(NY, 2026, 11, 22, 19, 0)
    assert step_due_at(start, _step(2, "email", 19), win) == at(NY, 2026, 11, 23, 9, 0)


def test_a_same_day_step_whose_hour_has_passed_is_due_at_the_next_opening_not_in_the_past() -> None:
    # Applied Friday 2026-11-20 at 21:31 in New York: "Day 0 at 17:00" has passed today.
    start = at(NY, 2026, 11, 20, 21, 31)
    win = window("America/New_York")
    assert step_due_at(start, _step(0, "email", 17), win) == at(NY, 2026, 11, 21, 9, 0)
    assert step_due_at(start, _step(0, "call", 17), win) == start  # a call: due now
