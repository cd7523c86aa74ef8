"""Logged calls, meetings and notes: on the client's timeline with their time, outcome and
length; one logged from a task can complete it; a conversation pauses the plans whose
own setting it reaches (a short call, or a plan without the setting, pauses nothing)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from tests.crm.helpers import Crm, SignedIn, add_client, add_task, sign_up
from tests.crm.plan_support import call

STEPS = [{"delay_days": 3, "action": "email", "purpose": "Check in"}]


async def plan(crm: Crm, who: SignedIn, name: str, minutes: int | None) -> dict[str, Any]:
    body = {"name": name, "steps": STEPS, "pause_on_conversation_minutes": minutes}
    result: dict[str, Any] = await call(crm, who, "POST", "/plans", 201, json=body)
    return result


async def log(crm: Crm, who: SignedIn, client_id: str, status: int = 201, **body: Any) -> Any:
    return await call(crm, who, "POST", f"/clients/{client_id}/activities", status, json=body)


async def test_calls_meetings_and_notes_go_on_the_timeline(crm: Crm) -> None:
    who = await sign_up(crm.http)
    client = await add_client(crm.http, who)
    call_at = "2026-05-01T10:30:00-04:00"
    logged = await log(
        crm,
        who,
        client["id"],
        kind="call",
        outcome="left_voicemail",
        duration_minutes=1,
        notes="Asked for a callback",
        occurred_at=call_at,
    )
    assert logged["activity"]["summary"] == "Call (left a voicemail, 1 min): Asked for a callback"
    assert logged["paused_plans"] == []
    await log(crm, who, client["id"], kind="meeting", duration_minutes=45, notes="Showing")
    await log(crm, who, client["id"], kind="note", notes="Prefers texts after 6pm")
    timeline = await call(crm, who, "GET", f"/clients/{client['id']}/timeline")
    mine = {a["kind"]: a for a in timeline if a["kind"].endswith("_logged")}
    assert set(mine) == {"call_logged", "meeting_logged", "note_logged"}
    assert mine["call_logged"]["occurred_at"].startswith("2026-05-01T14:30:00")
    assert mine["call_logged"]["outcome"] == "left_voicemail"
    assert mine["meeting_logged"]["duration_minutes"] == 45
    assert mine["note_logged"]["summary"] == "Note: Prefers texts after 6pm"
    for bad in (
        {"kind": "call"},
        {"kind": "note"},
        {"kind": "meeting", "outcome": "busy"},
        {"kind": "text", "notes": "x"},
        {"kind": "call", "outcome": "connected", "duration_minutes": -1},
    ):
        await log(crm, who, client["id"], 422, **bad)


async def test_a_conversation_pauses_only_the_plans_set_to_pause(crm: Crm) -> None:
    who = await sign_up(crm.http)
    client = await add_client(crm.http, who)
    pausing = await plan(crm, who, "Pauses after 3 minutes", 3)
    patient = await plan(crm, who, "Never pauses", None)
    runs = {}
    for p in (pausing, patient):
        run = await call(
            crm, who, "POST", f"/clients/{client['id']}/plans", 201, json={"plan_id": p["id"]}
        )
        runs[p["name"]] = run["id"]
    short = await log(crm, who, client["id"], kind="call", outcome="connected", duration_minutes=2)
    unanswered = await log(
        crm, who, client["id"], kind="call", outcome="no_answer", duration_minutes=10
    )
    assert short["paused_plans"] == unanswered["paused_plans"] == []
    long = await log(crm, who, client["id"], kind="call", outcome="connected", duration_minutes=5)
    assert long["paused_plans"] == ["Pauses after 3 minutes"]
    statuses = {
        name: (await call(crm, who, "GET", f"/plan-runs/{run_id}"))["status"]
        for name, run_id in runs.items()
    }
    assert statuses == {"Pauses after 3 minutes": "paused", "Never pauses": "active"}
    timeline = await call(crm, who, "GET", f"/clients/{client['id']}/timeline")
    assert any(
        a["summary"] == "Follow-up plan 'Pauses after 3 minutes' paused: a 5-minute call was logged"
        for a in timeline
    )
    changed = await call(
        crm, who, "PATCH", f"/plans/{patient['id']}", json={"pause_on_conversation_minutes": 30}
    )
    assert changed["pause_on_conversation_minutes"] == 30
    meeting = await log(crm, who, client["id"], kind="meeting", duration_minutes=30)
    assert meeting["paused_plans"] == ["Never pauses"]


async def test_a_call_logged_from_a_task_completes_it(crm: Crm) -> None:
    who = await sign_up(crm.http)
    client, other = await add_client(crm.http, who), await add_client(crm.http, who)
    task = await add_task(
        crm.http, who, client["id"], timedelta(hours=2), task_type="call", purpose="Call Jordan"
    )
    body = {"kind": "call", "outcome": "connected", "duration_minutes": 4, "task_id": task["id"]}
    await log(crm, who, other["id"], 404, **body, complete_task=True)  # not that client's task
    logged = await log(crm, who, client["id"], **body, complete_task=True)
    assert logged["task_completed"] is True
    assert logged["activity"]["task_id"] == task["id"]
    assert (await call(crm, who, "GET", f"/tasks/{task['id']}"))["status"] == "done"
    await log(crm, who, client["id"], 409, **body, complete_task=True)  # done already


async def test_another_agents_client_and_task_are_not_found(crm: Crm) -> None:
    ada, bob = await sign_up(crm.http), await sign_up(crm.http)
    client = await add_client(crm.http, ada)
    task = await add_task(crm.http, ada, client["id"], timedelta(hours=1), task_type="call")
    await log(crm, bob, client["id"], 404, kind="note", notes="x")
    own = await add_client(crm.http, bob)
    await log(crm, bob, own["id"], 404, kind="note", notes="x", task_id=task["id"])
