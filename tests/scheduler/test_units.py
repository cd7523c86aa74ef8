"""Slot arithmetic and settings parsing (no servers)."""

from __future__ import annotations

import os
import socket
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from realtoros_contracts import SchedulerTick
from realtoros_scheduler.settings import Settings
from realtoros_scheduler.ticker import interval_micros, slot_of


@pytest.mark.parametrize(
    ("now", "interval", "slot"),
    [
        ("2026-03-01T10:00:00.199999+00:00", 0.2, "2026-03-01T10:00:00+00:00"),
        ("2026-03-01T10:00:00.200000+00:00", 0.2, "2026-03-01T10:00:00.200000+00:00"),
        ("2026-03-01T10:00:59.999999+00:00", 60, "2026-03-01T10:00:00+00:00"),
        ("2026-03-01T10:07:30+00:00", 300, "2026-03-01T10:05:00+00:00"),
        ("2026-03-01T10:00:00.35+00:00", 0.3, "2026-03-01T10:00:00.300000+00:00"),
    ],
)
def test_the_slot_is_the_interval_aligned_utc_time(now: str, interval: float, slot: str) -> None:
    at = datetime.fromisoformat(now)
    micros = int(at.timestamp()) * 1_000_000 + at.microsecond
    assert slot_of(micros, interval_micros(interval)) == datetime.fromisoformat(slot)
    assert slot_of(micros, interval_micros(interval)).tzinfo is UTC


def test_every_moment_of_a_slot_gives_the_same_tick_id() -> None:
    interval = interval_micros(0.2)
    start = 1_772_359_200_000_000  # 2026-03-01T10:00:00Z
    ids = {
        SchedulerTick.event_id("due-tasks", slot_of(start + offset, interval))
        for offset in range(0, 200_000, 997)
    }
    assert ids == {"tick:due-tasks:2026-03-01T10:00:00+00:00"}


def test_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("TICK_INTERVAL_SECONDS", "SCHEDULES", "LEASE_TTL_SECONDS", "REPLICA_ID"):
        monkeypatch.delenv(name, raising=False)
    settings = Settings()
    assert settings.tick_interval_seconds == 0.2
    assert settings.schedules == ["due-tasks"]
    assert settings.lease_ttl_seconds == 5
    assert settings.replica_id == f"{socket.gethostname()}-{os.getpid()}"


@pytest.mark.parametrize(
    ("value", "schedules"),
    [
        ("due-tasks", ["due-tasks"]),
        ("due-tasks, digest", ["due-tasks", "digest"]),
        ('["due-tasks", "digest"]', ["due-tasks", "digest"]),
    ],
)
def test_schedules_are_a_list_or_comma_separated(
    monkeypatch: pytest.MonkeyPatch, value: str, schedules: list[str]
) -> None:
    monkeypatch.setenv("SCHEDULES", value)
    assert Settings().schedules == schedules


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("SCHEDULES", ""),
        ("SCHEDULES", "Due_Tasks"),
        ("SCHEDULES", "a,a"),
        ("SCHEDULES", "[1"),
        ("TICK_INTERVAL_SECONDS", "-1"),
        ("TICK_INTERVAL_SECONDS", "abc"),
        ("LEASE_TTL_SECONDS", "0"),
        ("REPLICA_ID", ""),
    ],
)
def test_bad_values_are_refused(monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError) as info:
        Settings()
    assert [error["loc"] for error in info.value.errors()] == [(name.lower(),)]
