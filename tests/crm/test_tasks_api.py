"""Tasks: types, filters that combine (several statuses, overdue, due today in the agent's
zone, client, plan, range), the calendar, reschedule/complete/skip/cancel and bulk actions,
and no agent ever touching another's tasks."""

from __future__ import annotations

from typing import Any

import nats.js

from realtoros_crm.clock import ManualClock
from realtoros_runtime.publisher import EventPublisher
from tests.crm import plan_support
from tests.crm.helpers import Crm, SignedIn, add_client, sign_up
from tests.crm.plan_support import call, tick_and_settle, when

clock = plan_support.clock
crm_at = plan_support.crm_at


async def new_task(crm: Crm, who: SignedIn, client_id: str, due: str, **fields: Any) -> str:
    body = {"client_id": client_id, "due_at": due, **fields}
    task = await call(crm, who, "POST", "/tasks", 201, json=body)
    return str(task["id"])


async def ids(crm: Crm, who: SignedIn, query: str) -> set[str]:
    return {task["id"] for task in await call(crm, who, "GET", f"/tasks?{query}")}


async def test_filters_combine_and_several_statuses_are_a_union(
    crm_at: Crm, clock: ManualClock
) -> None:
    who = await sign_up(crm_at.http, timezone="America/New_York")
    one, two = await add_client(crm_at.http, who), await add_client(crm_at.http, who)
    clock.set(when("2026-11-25T12:00:00-05:00"))  # Wednesday noon in New York
    past = await new_task(crm_at, who, one["id"], "2026-11-24T10:00:00-05:00", task_type="call")
    tonight = await new_task(crm_at, who, one["id"], "2026-11-25T23:30:00-05:00")
    # 01:00 UTC on the 26th is still the 25th in New York: due today for this agent
    late_utc = await new_task(crm_at, who, two["id"], "2026-11-26T01:00:00+00:00")
    tomorrow = await new_task(
        crm_at, who, two["id"], "2026-11-26T10:00:00-05:00", task_type="meeting"
    )
    done = await new_task(crm_at, who, two["id"], "2026-11-20T10:00:00-05:00", task_type="custom")
    skipped = await new_task(crm_at, who, two["id"], "2026-11-21T10:00:00-05:00")
    await call(crm_at, who, "POST", f"/tasks/{done}/complete")
    await call(crm_at, who, "POST", f"/tasks/{skipped}/skip")

    assert await ids(crm_at, who, "status=done&status=skipped") == {done, skipped}
    assert await ids(crm_at, who, "status=done") == {done}
    assert await ids(crm_at, who, "overdue=true") == {past}  # pending and past due only
    assert await ids(crm_at, who, "due_today=true") == {tonight, late_utc}
    assert await ids(crm_at, who, f"client_id={two['id']}&status=pending") == {late_utc, tomorrow}
    assert await ids(crm_at, who, "type=call&type=meeting") == {past, tomorrow}
    window = "from=2026-11-25T00:00:00-05:00&to=2026-11-26T00:00:00-05:00"
    assert await ids(crm_at, who, window) == {tonight, late_utc}
    ordered = await call(crm_at, who, "GET", "/tasks")
    assert [t["id"] for t in ordered] == [done, skipped, past, late_utc, tonight, tomorrow]
    bad = await crm_at.http.get("/tasks?status=nope&overdue=maybe", headers=who.headers)
    assert bad.status_code == 422
    assert bad.headers["content-type"] == "application/problem+json"
    naive = await crm_at.http.get("/tasks?from=2026-11-25T00:00:00", headers=who.headers)
    assert naive.status_code == 422

    days = await call(
        crm_at,
        who,
        "GET",
        "/tasks/calendar?from=2026-11-24T00:00:00-05:00&to=2026-11-27T00:00:00-05:00",
    )
    assert [(d["date"], len(d["tasks"])) for d in days] == [
        ("2026-11-24", 1),
        ("2026-11-25", 2),
        ("2026-11-26", 1),
    ]
    too_long = "/tasks/calendar?from=2026-01-01T00:00:00Z&to=2026-12-31T00:00:00Z"
    assert (await crm_at.http.get(too_long, headers=who.headers)).status_code == 422


async def test_reschedule_complete_skip_cancel_and_bulk(crm_at: Crm, clock: ManualClock) -> None:
    who = await sign_up(crm_at.http)
    client = await add_client(crm_at.http, who)
    clock.set(when("2026-11-25T12:00:00+00:00"))
    a, b, c = [
        await new_task(crm_at, who, client["id"], f"2026-11-2{d}T10:00:00+00:00", task_type="call")
        for d in (6, 7, 8)
    ]
    moved = await call(
        crm_at,
        who,
        "PATCH",
        f"/tasks/{a}",
        json={"due_at": "2026-12-01T15:00:00+00:00", "priority": "high"},
    )
    assert (moved["due_at"], moved["priority"]) == ("2026-12-01T15:00:00Z", "high")
    cancelled = await call(crm_at, who, "POST", f"/tasks/{a}/cancel")
    assert cancelled["status"] == "cancelled"
    await call(crm_at, who, "PATCH", f"/tasks/{a}", 409, json={"due_at": "2026-12-02T15:00:00Z"})
    await call(crm_at, who, "POST", f"/tasks/{a}/complete", 409)
    result = await call(
        crm_at, who, "POST", "/tasks/bulk", json={"task_ids": [a, b, c], "action": "complete"}
    )
    assert set(result["updated"]) == {b, c}
    assert [p["task_id"] for p in result["not_done"]] == [a]
    completed = await call(crm_at, who, "GET", f"/tasks/{b}")
    assert completed["status"] == "done"
    assert completed["completed_at"] == "2026-11-25T12:00:00Z"
    resched = {"task_ids": [a], "action": "reschedule"}
    assert (
        await crm_at.http.post("/tasks/bulk", json=resched, headers=who.headers)
    ).status_code == 422
    feed = await call(crm_at, who, "GET", "/activity")
    assert any(item["summary"] == "Call 'Custom' completed" for item in feed)


async def test_one_agent_never_touches_another_agents_tasks(
    crm_at: Crm, clock: ManualClock, publisher: EventPublisher, js: nats.js.JetStreamContext
) -> None:
    mine, theirs = await sign_up(crm_at.http), await sign_up(crm_at.http)
    my_client, their_client = (
        await add_client(crm_at.http, mine),
        await add_client(crm_at.http, theirs),
    )
    clock.set(when("2026-11-25T12:00:00+00:00"))
    their_task = await new_task(crm_at, theirs, their_client["id"], "2026-11-26T10:00:00Z")
    my_task = await new_task(crm_at, mine, my_client["id"], "2026-11-26T10:00:00Z")
    for action in ("complete", "skip", "cancel"):
        await call(crm_at, mine, "POST", f"/tasks/{their_task}/{action}", 404)
    await call(crm_at, mine, "PATCH", f"/tasks/{their_task}", 404, json={"priority": "low"})
    await call(crm_at, mine, "GET", f"/tasks/{their_task}/draft", 404)
    result = await call(
        crm_at,
        mine,
        "POST",
        "/tasks/bulk",
        json={"task_ids": [their_task, my_task], "action": "skip"},
    )
    assert result["updated"] == [my_task]
    assert result["not_done"] == [{"task_id": their_task, "detail": "task not found"}]
    assert await ids(crm_at, mine, "") == {my_task}
    untouched = await call(crm_at, theirs, "GET", f"/tasks/{their_task}")
    assert (untouched["status"], untouched["updated_at"]) == ("pending", untouched["created_at"])
    # Only email tasks are claimed: a due call stays the agent's to do.
    call_task = await new_task(
        crm_at, theirs, their_client["id"], "2026-11-25T11:00:00Z", task_type="call"
    )
    await tick_and_settle(crm_at, publisher, js, clock)
    assert (await call(crm_at, theirs, "GET", f"/tasks/{call_task}"))["status"] == "pending"
    assert await ids(crm_at, theirs, "overdue=true") == {call_task}
