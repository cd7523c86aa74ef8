"""Email steps due at the same time are spread over part of the sending window, per client
(issue #19, "peaks flattened on purpose"): deterministic, inside the window, never before
the step's time, and the real time is what the API and the web app show."""

from __future__ import annotations

import html
import uuid
from collections import Counter
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from realtoros_crm.clock import ManualClock
from realtoros_crm.plans.window import SendingWindow, spread, spread_fraction
from tests.crm import plan_support
from tests.crm.helpers import PASSWORD, Crm, add_client, sign_up
from tests.crm.plan_support import call, run_tasks, when
from tests.web.support import csrf_of

clock = plan_support.clock
crm_at = plan_support.crm_at

NY = ZoneInfo("America/New_York")
WINDOW = SendingWindow.of((1, 2, 3, 4, 5, 6), time(9), time(18), "America/New_York")
CLIENTS = [uuid.UUID(int=n * 7919 + 1) for n in range(5000)]


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=NY)


def test_the_same_client_always_gets_the_same_offset() -> None:
    due = at(date(2026, 11, 23), 10)
    first = [spread(due, client, WINDOW, 60) for client in CLIENTS[:200]]
    again = [spread(due, client, WINDOW, 60) for client in CLIENTS[:200]]
    assert first == again
    # A week later (a reschedule, the next step): the same minute and second past 10:00.
    later = [spread(due + timedelta(days=7), c, WINDOW, 60) for c in CLIENTS[:200]]
    assert [b - a for a, b in zip(first, later, strict=True)] == [timedelta(days=7)] * 200


def test_many_clients_fall_evenly_across_the_spread_and_inside_it() -> None:
    due = at(date(2026, 11, 23), 10)
    offsets = [spread(due, client, WINDOW, 120) - due for client in CLIENTS]
    assert all(timedelta(0) <= off < timedelta(minutes=120) for off in offsets)
    assert all(off.microseconds == 0 for off in offsets)  # whole seconds
    per_ten_minutes = Counter(int(off.total_seconds() // 600) for off in offsets)
    # 5,000 clients over twelve 10-minute slices: about 417 each, none empty or doubled.
    assert sorted(per_ten_minutes) == list(range(12))
    assert 300 < min(per_ten_minutes.values()) <= max(per_ten_minutes.values()) < 540
    busiest_second = max(Counter(offsets).values())
    assert busiest_second <= 6  # unspread, all 5,000 fall in the same second


def test_the_spread_never_leaves_the_window() -> None:
    # A step at 17:30 with two hours of spread: the window closes at 18:00.
    due = at(date(2026, 11, 23), 17, 30)
    results = [spread(due, client, WINDOW, 120) for client in CLIENTS]
    closes = at(date(2026, 11, 23), 18)
    assert all(due <= r < closes for r in results)
    assert max(results) - due > timedelta(minutes=29)  # the half hour is used, not shrunk
    # On the day DST ends (New York, 1 November 2026) the window is still 09:00-18:00 local.
    window = SendingWindow.of((7,), time(9), time(18), "America/New_York")
    sunday = at(date(2026, 11, 1), 17)
    assert all(
        sunday <= spread(sunday, c, window, 240) < at(date(2026, 11, 1), 18) for c in CLIENTS
    )


def test_no_spread_and_out_of_window_times_are_left_alone() -> None:
    due = at(date(2026, 11, 23), 10)
    assert spread(due, CLIENTS[0], WINDOW, 0) == due
    night = at(date(2026, 11, 23), 20)  # not inside the window: not this function's job
    assert spread(night, CLIENTS[0], WINDOW, 60) == night
    always = SendingWindow.of((), time(9), time(18), "UTC")
    moved = spread(due, CLIENTS[3], always, 60)
    assert due <= moved < due + timedelta(hours=1)


@pytest.mark.parametrize("client", CLIENTS[:3])
def test_the_fraction_is_a_fixed_function_of_the_id(client: uuid.UUID) -> None:
    assert 0 <= spread_fraction(client) < 1
    assert spread_fraction(client) == spread_fraction(uuid.UUID(str(client)))


async def test_the_agent_sees_when_each_clients_step_really_goes_out(
    crm_at: Crm, clock: ManualClock
) -> None:
    who = await sign_up(crm_at.http, timezone="America/New_York")
    plans = await call(crm_at, who, "GET", "/plans")
    [standard] = [plan for plan in plans if plan["builtin"]]
    bad = {"send_spread_minutes": 241}
    problem = await call(crm_at, who, "PATCH", "/me", 422, json=bad)
    assert "send_spread_minutes" in str(problem)
    me = await call(crm_at, who, "PATCH", "/me", json={"send_spread_minutes": 60})
    assert me["send_spread_minutes"] == 60
    clock.set(when("2026-11-20T08:00:00-05:00"))  # a Friday morning in New York
    runs = {}
    for n in range(12):
        client = await add_client(crm_at.http, who, name=f"Client {n}")
        body = {"plan_id": standard["id"]}
        run = await call(crm_at, who, "POST", f"/clients/{client['id']}/plans", 201, json=body)
        runs[client["id"]] = run["id"]
    day_one = {}
    for client_id, run_id in runs.items():
        tasks = await run_tasks(crm_at, who, run_id)
        local = [when(task["due_at"]).astimezone(NY) for task in tasks]
        # Every step of this client at the same offset past its nominal 10:00 (Month 1,
        # due on Sunday the 20th, at Monday's opening: 09:00).
        nominal = [t.replace(hour=9 if (t.month, t.day) == (12, 21) else 10, minute=0, second=0)
                   for t in local]  # fmt: skip
        offsets = {t - n for t, n in zip(local, nominal, strict=True)}
        assert len(offsets) == 1, local
        [offset] = offsets
        assert timedelta(0) <= offset < timedelta(minutes=60)
        expected = int(3600 * spread_fraction(uuid.UUID(client_id)))
        assert offset == timedelta(seconds=expected)
        day_one[client_id] = local[0]
    assert len(set(day_one.values())) == 12  # twelve clients, twelve times

    # Cancelled and started again: the same time (the spread is per client, not random).
    client_id, run_id = next(iter(runs.items()))
    await call(crm_at, who, "POST", f"/plan-runs/{run_id}/cancel")
    body = {"plan_id": standard["id"]}
    again = await call(crm_at, who, "POST", f"/clients/{client_id}/plans", 201, json=body)
    first = (await run_tasks(crm_at, who, again["id"]))[0]
    assert when(first["due_at"]).astimezone(NY) == day_one[client_id]

    # The web app shows the real time ("10:07"), not the step's 10:00.
    login = await crm_at.http.get("/app/login")
    form = {"csrf": csrf_of(login.text), "email": who.agent["email"], "password": PASSWORD}
    assert (await crm_at.http.post("/app/login", data=form)).status_code == 303
    page = html.unescape((await crm_at.http.get(f"/app/tasks/{first['id']}")).text)
    assert day_one[client_id].strftime("%H:%M") in page
    assert day_one[client_id].strftime("%H:%M") != "10:00"
    settings = html.unescape((await crm_at.http.get("/app/settings")).text)
    assert 'name="send_spread_minutes"' in settings
    assert 'value="60"' in settings


def test_spread_is_utc() -> None:
    due = at(date(2026, 11, 23), 10)
    assert spread(due, CLIENTS[1], WINDOW, 30).tzinfo == UTC
