"""Follow-up plans on a controlled clock: the default plan in the client's local time and
the sending window, pause/resume, stop when the client is closed, automatic starts."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

import nats.js

from realtoros_crm.clock import ManualClock
from realtoros_runtime.publisher import EventPublisher
from tests.crm import plan_support
from tests.crm.helpers import Crm, SignedIn, add_client, sign_up
from tests.crm.plan_support import call, run_tasks, tick_and_settle, when
from tests.support.waiting import eventually

clock = plan_support.clock
crm_at = plan_support.crm_at

NY = ZoneInfo("America/New_York")


async def client_on_plan(
    crm: Crm, who: SignedIn, plan_id: str, **client_fields: Any
) -> tuple[dict[str, Any], dict[str, Any]]:
    """A new client of the agent's, put on the plan; (the client, the plan run)."""
    client = await add_client(crm.http, who, **client_fields)
    body = {"plan_id": plan_id}
    run = await call(crm, who, "POST", f"/clients/{client['id']}/plans", 201, json=body)
    return client, run


async def default_plan_id(crm: Crm, who: SignedIn) -> str:
    plans = await call(crm, who, "GET", "/plans")
    [standard] = [plan for plan in plans if plan["builtin"]]
    assert [s["purpose"] for s in standard["steps"]] == [
        "Day 1",
        "Day 3",
        "Week 1",
        "Week 2",
        "Month 1",
    ]
    assert [s["delay_days"] for s in standard["steps"]] == [1, 3, 7, 14, 30]
    assert [s["priority"] for s in standard["steps"]] == ["high", "medium", "medium", "low", "low"]
    return str(standard["id"])


async def test_a_client_added_on_friday_afternoon_gets_saturday_then_monday(
    crm_at: Crm, clock: ManualClock, publisher: EventPublisher, js: nats.js.JetStreamContext
) -> None:
    who = await sign_up(crm_at.http, timezone="America/New_York")
    plan_id = await default_plan_id(crm_at, who)
    clock.set(when("2026-11-20T15:00:00-05:00"))  # a Friday afternoon in New York
    _client, run = await client_on_plan(crm_at, who, plan_id)
    tasks = await run_tasks(crm_at, who, run["id"])
    local = [when(task["due_at"]).astimezone(NY).isoformat() for task in tasks]
    assert local == [
        "2026-11-21T10:00:00-05:00",  # Day 1: Saturday, inside Mon-Sat 09-18
        "2026-11-23T10:00:00-05:00",  # Day 3: Monday
        "2026-11-27T10:00:00-05:00",  # Week 1
        "2026-12-04T10:00:00-05:00",  # Week 2
        "2026-12-21T09:00:00-05:00",  # Month 1: Sunday the 20th → Monday's opening
    ]
    assert [task["priority"] for task in tasks] == ["high", "medium", "medium", "low", "low"]
    # Saturday 09:59: nothing due yet; 10:00: Day 1 is claimed, and only Day 1.
    clock.set(when("2026-11-21T09:59:00-05:00"))
    await tick_and_settle(crm_at, publisher, js, clock)
    assert {t["status"] for t in await run_tasks(crm_at, who, run["id"])} == {"pending"}
    clock.set(when("2026-11-21T10:00:00-05:00"))
    await tick_and_settle(crm_at, publisher, js, clock)
    statuses = [t["status"] for t in await run_tasks(crm_at, who, run["id"])]
    assert statuses == ["composing", "pending", "pending", "pending", "pending"]


async def test_a_plan_paused_for_five_days_counts_from_the_resume(
    crm_at: Crm, clock: ManualClock, publisher: EventPublisher, js: nats.js.JetStreamContext
) -> None:
    who = await sign_up(crm_at.http, timezone="America/New_York")
    plan_id = await default_plan_id(crm_at, who)
    clock.set(when("2026-11-11T15:00:00-05:00"))  # Wednesday
    _client, run = await client_on_plan(crm_at, who, plan_id)
    before = [when(t["due_at"]) for t in await run_tasks(crm_at, who, run["id"])]
    clock.set(when("2026-11-11T16:00:00-05:00"))
    paused = await call(crm_at, who, "POST", f"/plan-runs/{run['id']}/pause")
    assert paused["status"] == "paused"
    # Five days later Day 1 and Day 3 are past due, but a paused plan sends nothing.
    clock.advance(timedelta(days=5))
    await tick_and_settle(crm_at, publisher, js, clock)
    assert {t["status"] for t in await run_tasks(crm_at, who, run["id"])} == {"pending"}
    resumed = await call(crm_at, who, "POST", f"/plan-runs/{run['id']}/resume")
    assert resumed["status"] == "active"
    after = [when(t["due_at"]) for t in await run_tasks(crm_at, who, run["id"])]
    assert [b - a for a, b in zip(before, after, strict=True)] == [timedelta(days=5)] * 5
    assert after[0].astimezone(NY).isoformat() == "2026-11-17T10:00:00-05:00"
    await call(crm_at, who, "POST", f"/plan-runs/{run['id']}/resume", 409)
    timeline = await call(crm_at, who, "GET", "/activity")
    assert any("resumed after 5.0 day(s)" in item["summary"] for item in timeline)


async def test_closing_the_client_cancels_the_remaining_steps(
    crm_at: Crm, clock: ManualClock, publisher: EventPublisher, js: nats.js.JetStreamContext
) -> None:
    who = await sign_up(crm_at.http, timezone="America/New_York")
    plan_id = await default_plan_id(crm_at, who)
    clock.set(when("2026-11-16T11:00:00-05:00"))  # Monday
    client, run = await client_on_plan(crm_at, who, plan_id, stage="negotiating")
    clock.set(when("2026-11-17T10:00:00-05:00"))
    await tick_and_settle(crm_at, publisher, js, clock)  # Day 1 goes out
    clock.set(when("2026-11-18T12:00:00-05:00"))
    await call(crm_at, who, "PATCH", f"/clients/{client['id']}", json={"stage": "closed"})
    tasks = await run_tasks(crm_at, who, run["id"])
    assert [t["status"] for t in tasks] == ["composing"] + ["cancelled"] * 4
    assert tasks[1]["failure_reason"] == "client closed"
    stopped = await call(crm_at, who, "GET", f"/plan-runs/{run['id']}")
    assert stopped["status"] == "stopped"
    assert stopped["stop_reason"] == "client closed"
    # Nothing more is claimed for that client, whatever the date.
    clock.advance(timedelta(days=40))
    await tick_and_settle(crm_at, publisher, js, clock)
    assert [t["status"] for t in await run_tasks(crm_at, who, run["id"])][1:] == ["cancelled"] * 4


async def test_plans_start_on_a_stage_and_by_default_once_each(crm_at: Crm) -> None:
    who = await sign_up(crm_at.http)
    negotiating = {
        "name": "Negotiation",
        "start_on_stage": "negotiating",
        "steps": [
            {"delay_days": 0, "time_of_day": "16:00", "action": "call", "purpose": "Check in"},
            {"delay_days": 2, "purpose": "Offer recap", "instructions": "Summarise the offer"},
        ],
    }
    stage_plan = await call(crm_at, who, "POST", "/plans", 201, json=negotiating)
    client = await add_client(crm_at.http, who)
    assert await call(crm_at, who, "GET", f"/clients/{client['id']}/plans") == []
    for _ in range(2):  # entering the stage twice starts the plan once
        await call(crm_at, who, "PATCH", f"/clients/{client['id']}", json={"stage": "prospect"})
        await call(crm_at, who, "PATCH", f"/clients/{client['id']}", json={"stage": "negotiating"})
    [run] = await call(crm_at, who, "GET", f"/clients/{client['id']}/plans")
    assert run["plan_id"] == stage_plan["id"]
    types = [t["task_type"] for t in await run_tasks(crm_at, who, run["id"])]
    assert types == ["call", "email"]
    # A default plan starts for every new client.
    welcome = {"name": "Welcome", "is_default": True, "steps": [{"delay_days": 1, "purpose": "Hi"}]}
    default = await call(crm_at, who, "POST", "/plans", 201, json=welcome)
    newcomer = await add_client(crm_at.http, who)
    [started] = await call(crm_at, who, "GET", f"/clients/{newcomer['id']}/plans")
    assert started["plan_id"] == default["id"]


async def test_plan_and_step_crud_with_clear_errors(crm_at: Crm) -> None:
    who, other = await sign_up(crm_at.http), await sign_up(crm_at.http)
    plan = await call(crm_at, who, "POST", "/plans", 201, json={"name": "Custom"})
    url = f"/plans/{plan['id']}"
    first = await call(
        crm_at, who, "POST", f"{url}/steps", 201, json={"delay_days": 5, "purpose": "B"}
    )
    second = await call(
        crm_at, who, "POST", f"{url}/steps", 201, json={"delay_days": 1, "purpose": "A"}
    )
    moved = await call(
        crm_at,
        who,
        "PATCH",
        f"{url}/steps/{second['id']}",
        json={"position": 0, "action": "meeting"},
    )
    assert moved["position"] == 0
    assert moved["action"] == "meeting"
    steps = (await call(crm_at, who, "GET", url))["steps"]
    assert [s["purpose"] for s in steps] == ["A", "B"]
    await call(crm_at, who, "DELETE", f"{url}/steps/{first['id']}", 204)
    assert [s["purpose"] for s in (await call(crm_at, who, "GET", url))["steps"]] == ["A"]
    await call(
        crm_at, who, "PATCH", url, json={"name": "Renamed", "start_on_stage": "under_contract"}
    )
    for bad in (
        {"delay_days": -1, "purpose": "x"},
        {"delay_days": 1, "purpose": "x", "time_of_day": "25:00"},
        {"delay_days": 1, "purpose": "x", "action": "fax"},
    ):
        response = await crm_at.http.post(f"{url}/steps", json=bad, headers=who.headers)
        assert response.status_code == 422, response.text
        assert response.headers["content-type"] == "application/problem+json"
    bad_stage = await crm_at.http.post(
        "/plans", json={"name": "x", "start_on_stage": "won"}, headers=who.headers
    )
    assert bad_stage.status_code == 422
    await call(crm_at, other, "GET", url, 404)  # another agent's plan does not exist for them
    await call(crm_at, other, "DELETE", url, 404)
    client = await add_client(crm_at.http, who)
    body = {"plan_id": plan["id"]}
    await call(crm_at, other, "POST", f"/clients/{client['id']}/plans", 404, json=body)
    run = await call(crm_at, who, "POST", f"/clients/{client['id']}/plans", 201, json=body)
    await call(crm_at, who, "POST", f"/clients/{client['id']}/plans", 409, json=body)
    await call(crm_at, who, "POST", f"/plan-runs/{run['id']}/cancel")
    await call(crm_at, who, "POST", f"/plan-runs/{run['id']}/pause", 409)
    await call(crm_at, other, "POST", f"/plan-runs/{run['id']}/cancel", 404)
    await call(crm_at, who, "POST", f"/plan-runs/{run['id']}/explode", 404)
    await call(crm_at, who, "DELETE", url, 204)
    await call(crm_at, who, "GET", url, 404)


async def test_a_client_who_unsubscribes_has_their_plans_stopped(crm_at: Crm) -> None:
    who = await sign_up(crm_at.http)
    plan_id = await default_plan_id(crm_at, who)
    client, run = await client_on_plan(crm_at, who, plan_id)
    await call(crm_at, who, "PATCH", f"/clients/{client['id']}", json={"unsubscribed": True})

    async def stopped() -> dict[str, Any] | None:
        current = await call(crm_at, who, "GET", f"/plan-runs/{run['id']}")
        return current if current["status"] == "stopped" else None

    result = await eventually(stopped, what="the plan to stop after the unsubscribe")
    assert result["stop_reason"] == "client unsubscribed (agent)"
    statuses = {t["status"] for t in await run_tasks(crm_at, who, run["id"])}
    assert statuses == {"cancelled"}
