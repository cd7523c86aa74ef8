"""The stage hook starts plans for a batch of clients (an import, a bulk stage change)
exactly as it does for clients created and changed one by one: the same plan runs, tasks
(due times in each client's zone, inside the sending window) and timeline entries."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from realtoros_crm.activities.models import Activity
from realtoros_crm.clients.models import Client
from realtoros_crm.clock import ManualClock
from realtoros_crm.plans.models import PlanRun
from realtoros_crm.tasks.models import Task
from tests.crm import plan_support
from tests.crm.helpers import Crm, SignedIn, sign_up
from tests.crm.plan_support import call, when
from tests.support.waiting import eventually

clock = plan_support.clock
crm_at = plan_support.crm_at

CLIENTS = [  # name, email, stage, time zone
    ("Una Lead", "una@example.com", "lead", ""),
    ("Pia Paris", "pia@example.com", "lead", "Europe/Paris"),
    ("Ned Nego", "ned@example.com", "negotiating", "America/Los_Angeles"),
    ("Cal Closed", "cal@example.com", "closed", ""),
    ("Ulla Unsub", "ulla@example.com", "lead", ""),
]
NEGOTIATION = {
    "name": "Negotiation",
    "start_on_stage": "negotiating",
    "steps": [
        {"delay_days": 0, "time_of_day": "16:00", "action": "call", "purpose": "Check in"},
        {"delay_days": 2, "time_of_day": "19:00", "purpose": "Recap", "instructions": "Offer"},
    ],
}
NURTURE = {
    "name": "Nurture",
    "start_on_stage": "prospect",
    "steps": [{"delay_days": 1, "purpose": "Hello", "priority": "low"}],
}


async def give_plans(crm: Crm, who: SignedIn, clock: ManualClock) -> None:
    """New York, sending Mon-Fri 09-17, the standard plan as default and two plans that
    start on a stage (created one second apart: plans start in creation order)."""
    window = {"timezone": "America/New_York", "sending_days": [1, 2, 3, 4, 5]}
    await call(crm, who, "PATCH", "/me", json={**window, "sending_end": "17:00"})
    [standard] = [plan for plan in await call(crm, who, "GET", "/plans") if plan["builtin"]]
    await call(crm, who, "PATCH", f"/plans/{standard['id']}", json={"is_default": True})
    for plan in (NEGOTIATION, NURTURE):
        clock.advance(timedelta(seconds=1))
        await call(crm, who, "POST", "/plans", 201, json=plan)


async def snapshot(crm: Crm, who: SignedIn) -> dict[str, Any]:
    """The agent's plan runs, tasks and timeline per client email, without the ids and
    the creation entry (its wording says how the client was added)."""
    agent_id = uuid.UUID(who.agent["id"])
    async with crm.state.sessions() as session:
        rows = (await session.execute(select(Client.id, Client.email))).all()
        emails = {client_id: email or "" for client_id, email in rows}
        runs = (await session.scalars(select(PlanRun).where(PlanRun.agent_id == agent_id))).all()
        tasks = (await session.scalars(select(Task).where(Task.agent_id == agent_id))).all()
        entries = await session.scalars(
            select(Activity).where(Activity.agent_id == agent_id).order_by(Activity.seq)
        )
        activities = [a for a in entries if a.kind != "client_created"]
    names = {run.id: run.plan_name for run in runs}
    result: dict[str, Any] = {
        email: {"runs": [], "tasks": [], "timeline": []} for email in emails.values()
    }
    for run in runs:
        result[emails[run.client_id]]["runs"].append(
            (run.plan_name, run.status, run.started_at, run.ended_at, run.stop_reason,
             run.created_at, run.updated_at)
        )  # fmt: skip
    for task in tasks:
        result[emails[task.client_id]]["tasks"].append(
            (names[task.plan_run_id] if task.plan_run_id else None, task.step_position,
             task.task_type, task.priority, task.purpose, task.instructions, task.due_at,
             task.status, task.failure_reason, task.created_at, task.updated_at)
        )  # fmt: skip
    for activity in activities:
        result[emails[activity.client_id]]["timeline"].append(
            (activity.kind, activity.summary, activity.occurred_at)
        )
    for client in result.values():
        client["runs"].sort()
        client["tasks"].sort(key=repr)
    return result


async def unsubscribe(crm: Crm, who: SignedIn, client_id: str) -> None:
    await call(crm, who, "PATCH", f"/clients/{client_id}", json={"unsubscribed": True})

    async def stopped() -> bool:
        runs = await call(crm, who, "GET", f"/clients/{client_id}/plans")
        return all(run["status"] == "stopped" for run in runs)

    await eventually(stopped, what="the unsubscribed client's plans to stop")


async def by_email(crm: Crm, who: SignedIn) -> dict[str, str]:
    clients = await call(crm, who, "GET", "/clients", params={"limit": 100})
    return {client["email"]: client["id"] for client in clients}


async def test_a_batch_gets_the_same_plans_as_clients_added_one_by_one(
    crm_at: Crm, clock: ManualClock
) -> None:
    # Both sign in before the clock moves (tokens are checked on the real clock).
    one, batch = await sign_up(crm_at.http), await sign_up(crm_at.http)
    for who in (one, batch):
        await give_plans(crm_at, who, clock)
    clock.set(when("2026-11-20T15:00:00-05:00"))  # a Friday afternoon in New York
    for name, email, stage, zone in CLIENTS:
        body = {"name": name, "email": email, "stage": stage, "timezone": zone or None}
        await call(crm_at, one, "POST", "/clients", 201, json=body)
    rows = "".join(f"{name},{email},{stage},{zone}\r\n" for name, email, stage, zone in CLIENTS)
    files = {"file": ("leads.csv", f"Name,Email,Stage,Time Zone\r\n{rows}".encode(), "text/csv")}
    imported = await crm_at.http.post("/clients/import", files=files, headers=batch.headers)
    assert imported.json()["imported"] == len(CLIENTS), imported.text

    created = await snapshot(crm_at, one)
    assert created == await snapshot(crm_at, batch)
    runs = {email: [run[0] for run in client["runs"]] for email, client in created.items()}
    assert runs["ned@example.com"] == ["Negotiation", "Standard follow-up"]
    assert runs["cal@example.com"] == []  # closed: no follow-up
    assert runs["pia@example.com"] == ["Standard follow-up"]
    assert len(created["ned@example.com"]["tasks"]) == 7

    # Stage changes: one PATCH at a time, or a bulk update of several clients at once.
    clock.advance(timedelta(hours=1))
    ids = {who.agent["id"]: await by_email(crm_at, who) for who in (one, batch)}
    for who in (one, batch):
        await unsubscribe(crm_at, who, ids[who.agent["id"]]["ulla@example.com"])
    moves = [
        ("prospect", ["una", "ned"]),
        ("negotiating", ["pia", "ulla", "cal", "ned"]),  # Ned's Negotiation already runs
        ("lost", ["pia", "una"]),
    ]
    for stage, names in moves:
        clock.advance(timedelta(minutes=10))
        mine = [ids[one.agent["id"]][f"{name}@example.com"] for name in names]
        for client_id in mine:
            await call(crm_at, one, "PATCH", f"/clients/{client_id}", json={"stage": stage})
        theirs = [ids[batch.agent["id"]][f"{name}@example.com"] for name in names]
        bulk = {"ids": theirs, "stage": stage}
        await call(crm_at, batch, "POST", "/clients/bulk-update", json=bulk)

    changed = await snapshot(crm_at, one)
    assert changed == await snapshot(crm_at, batch)
    statuses = {email: sorted((r[0], r[1]) for r in c["runs"]) for email, c in changed.items()}
    assert statuses["ulla@example.com"] == [("Standard follow-up", "stopped")]  # unsubscribed
    assert statuses["cal@example.com"] == [("Negotiation", "active")]  # reopened
    assert statuses["ned@example.com"] == [
        ("Negotiation", "active"),
        ("Nurture", "active"),
        ("Standard follow-up", "active"),
    ]
    assert {status for _, status in statuses["pia@example.com"]} == {"stopped"}
