"""What one claim batch does to every kind of due task, row by row: claimed (email, task,
TaskDue in the outbox), deferred to the sending window, skipped (with the client's plans
stopped), failed on a contract violation, and the tasks it must not touch."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, text, update

from realtoros_contracts import TaskDue
from realtoros_contracts.envelope import (
    H_ID,
    H_MSG_ID,
    H_SOURCE,
    H_SUBJECT,
    H_TIME,
    H_TYPE,
)
from realtoros_crm.activities.models import Activity
from realtoros_crm.claims.service import ClaimResult, claim_batch
from realtoros_crm.claims.taskdue import ClaimContext
from realtoros_crm.clients.models import Client
from realtoros_crm.emails.models import Email
from realtoros_crm.messaging.models import OutboxMessage
from realtoros_crm.plans.models import PlanRun
from realtoros_crm.tasks.models import Task
from realtoros_crm.unsubscribe_tokens import verify_unsubscribe
from tests.crm.conftest import PUBLIC_BASE_URL
from tests.crm.helpers import Crm, SignedIn, add_client, sign_up
from tests.crm.plan_support import call, when

# Friday 20:00 in New York (after the 09:00-18:00 window) is Saturday 10:00 in Tokyo.
NOW = when("2026-11-20T20:00:00-05:00")
DUE = NOW - timedelta(hours=1)


@dataclass
class Scene:
    who: SignedIn
    clients: dict[str, dict[str, Any]]
    tasks: dict[str, uuid.UUID]
    runs: dict[str, str]


async def _plan_task(crm: Crm, who: SignedIn, client_id: str, plan_id: str) -> tuple[str, str]:
    """Starts the plan for the client; its first step becomes due (the run id, task id)."""
    body = {"plan_id": plan_id}
    run = await call(crm, who, "POST", f"/clients/{client_id}/plans", 201, json=body)
    tasks = await call(crm, who, "GET", f"/tasks?plan_run_id={run['id']}")
    first = min(tasks, key=lambda task: task["step_position"])
    return str(run["id"]), str(first["id"])


async def _scene(crm: Crm) -> Scene:
    who = await sign_up(
        crm.http,
        timezone="America/New_York",
        signature="Ada\nLovelace Realty",
        postal_address="1 Main St",
        title="Broker",
        phone="+1 555 0100",
    )
    plans = await call(crm, who, "GET", "/plans")
    plan_id = str(next(plan["id"] for plan in plans if plan["builtin"]))
    clients = {
        "active": await add_client(crm.http, who, notes="Loves gardens", custom_fields={"b": 3}),
        "tokyo": await add_client(crm.http, who, timezone="Asia/Tokyo", phone="+81 3 0000"),
        "closed": await add_client(crm.http, who),
        "unsubscribed": await add_client(crm.http, who),
        "deleted": await add_client(crm.http, who),
        "too_long": await add_client(crm.http, who),
        "paused": await add_client(crm.http, who),
    }
    runs: dict[str, str] = {}
    plan_tasks: dict[str, str] = {}
    for name in ("active", "tokyo", "closed", "paused"):
        runs[name], plan_tasks[name] = await _plan_task(crm, who, clients[name]["id"], plan_id)
    await call(crm, who, "POST", f"/plan-runs/{runs['paused']}/pause")
    agent_id = uuid.UUID(who.agent["id"])

    def one_off(client: str, due: datetime = DUE, **fields: Any) -> Task:
        return Task(
            agent_id=agent_id, client_id=uuid.UUID(clients[client]["id"]), due_at=due, **fields
        )

    async with crm.state.sessions() as session, session.begin():
        one_offs = {
            "active_one_off": one_off("active", DUE - timedelta(minutes=5), purpose="Check-in"),
            "active_call": one_off("active", task_type="call"),
            "active_later": one_off("active", NOW + timedelta(minutes=1)),
            "unsubscribed": one_off("unsubscribed", instructions="Say hi"),
            "deleted": one_off("deleted"),
            "too_long": one_off("too_long"),
        }
        session.add_all(one_offs.values())
        await session.flush()
        for offset, task_id in enumerate(plan_tasks.values()):
            await session.execute(
                update(Task)
                .where(Task.id == uuid.UUID(task_id))
                .values(due_at=DUE - timedelta(minutes=1) + timedelta(seconds=offset))
            )
        states: dict[str, dict[str, Any]] = {
            "closed": {"stage": "closed"},
            "unsubscribed": {"unsubscribed": True},
            "deleted": {"deleted_at": NOW - timedelta(days=1)},
            "too_long": {"notes": "x" * 10_001},
        }
        for name, values in states.items():  # behind the API's back: no hooks run
            client_id = uuid.UUID(clients[name]["id"])
            await session.execute(update(Client).where(Client.id == client_id).values(**values))
    tasks = {name: task.id for name, task in one_offs.items()}
    tasks.update({f"{name}_plan": uuid.UUID(task_id) for name, task_id in plan_tasks.items()})
    return Scene(who, clients, tasks, runs)


def _ctx(crm: Crm) -> ClaimContext:
    return ClaimContext(crm.state.bus.ns, PUBLIC_BASE_URL, crm.state.settings.unsubscribe_key())


async def _claim(crm: Crm, limit: int = 50) -> ClaimResult:
    async with crm.state.sessions() as session, session.begin():
        return await claim_batch(session, now=NOW, limit=limit, ctx=_ctx(crm))


async def _tasks(crm: Crm, scene: Scene) -> dict[str, Task]:
    names = {task_id: name for name, task_id in scene.tasks.items()}
    async with crm.state.sessions() as session:
        rows = await session.scalars(select(Task).where(Task.id.in_(names)))
        return {names[task.id]: task for task in rows}


async def _timeline(crm: Crm, client_id: str) -> list[tuple[str, str]]:
    async with crm.state.sessions() as session:
        rows = await session.execute(
            select(Activity.kind, Activity.summary)
            .where(Activity.client_id == uuid.UUID(client_id))
            .order_by(Activity.seq)  # write order
        )
        return [(kind, summary) for kind, summary in rows]


async def test_one_batch_claims_defers_skips_and_fails_each_task_as_it_should(crm: Crm) -> None:
    scene = await _scene(crm)
    timeline_before = await _timeline(crm, scene.clients["active"]["id"])
    assert 1 < len(timeline_before) <= 10
    untouched = await _tasks(crm, scene)

    result = await _claim(crm)

    ids = scene.tasks
    assert result.claimed == [ids["active_one_off"], ids["tokyo_plan"]]  # due order
    assert result.deferred == [ids["active_plan"]]
    assert set(result.skipped) == {ids["unsubscribed"], ids["deleted"], ids["closed_plan"]}
    assert result.failed == [ids["too_long"]]
    after = await _tasks(crm, scene)
    for name in ("active_call", "active_later", "paused_plan"):  # not claimable
        assert (after[name].status, after[name].due_at) == ("pending", untouched[name].due_at)
        assert after[name].updated_at == untouched[name].updated_at
    for name in ("active_one_off", "tokyo_plan"):
        assert (after[name].status, after[name].updated_at) == ("composing", NOW)
        assert after[name].email_id is not None
        assert after[name].due_at == untouched[name].due_at
    # After 18:00 in New York: the plan's step waits for Saturday's opening there.
    active_plan = after["active_plan"]
    assert (active_plan.status, active_plan.email_id) == ("pending", None)
    assert active_plan.due_at == when("2026-11-21T09:00:00-05:00")
    assert active_plan.updated_at == NOW
    reasons = {
        "unsubscribed": "client unsubscribed",
        "deleted": "client deleted",
        "closed_plan": "client stage is closed",
    }
    for name, reason in reasons.items():
        assert (after[name].status, after[name].failure_reason) == ("skipped", reason)
        assert (after[name].email_id, after[name].updated_at) == (None, NOW)
    too_long = after["too_long"]
    assert (too_long.status, too_long.email_id, too_long.updated_at) == ("failed", None, NOW)
    assert too_long.failure_reason == (
        "invalid event body: notes: String should have at most 10000 characters"
    )

    await _assert_emails_and_outbox(crm, scene, after, result, timeline_before)
    await _assert_skips_recorded_and_plans_stopped(crm, scene)


async def _assert_emails_and_outbox(
    crm: Crm,
    scene: Scene,
    after: dict[str, Task],
    result: ClaimResult,
    timeline_before: list[tuple[str, str]],
) -> None:
    async with crm.state.sessions() as session:
        emails = {e.task_id: e for e in await session.scalars(select(Email))}
        outbox = (
            await session.scalars(
                select(OutboxMessage)
                .where(OutboxMessage.event_type == TaskDue.TYPE)
                .order_by(OutboxMessage.id)
            )
        ).all()
    assert set(emails) == set(result.claimed)
    ns = crm.state.bus.ns
    events = []
    for message in outbox:
        event = TaskDue.model_validate_json(message.body)
        assert message.body == event.model_dump_json().encode()
        assert (message.subject, message.event_type) == (ns.subject(TaskDue), TaskDue.TYPE)
        assert message.stream == ns.stream_for(TaskDue).name
        headers = message.headers
        assert headers[H_ID] == headers[H_MSG_ID] == message.event_id
        assert (headers[H_TYPE], headers[H_SOURCE]) == (TaskDue.TYPE, "realtoros/crm")
        assert (headers[H_SUBJECT], headers[H_TIME]) == (
            str(event.email_id),
            NOW.astimezone(UTC).isoformat(),
        )
        events.append(event)
    assert [event.task_id for event in events] == result.claimed  # published in claim order
    for event in events:
        email, task = emails[event.task_id], after[_name(scene, event.task_id)]
        assert email.id == event.email_id == task.email_id
        assert (email.status, email.created_at, email.updated_at) == ("composing", NOW, NOW)
        assert (email.agent_id, email.client_id) == (event.agent_id, event.client_id)
        assert email.to_email == event.delivery.to_email == event.client.email
        assert (event.due_at, event.purpose, event.instructions) == (
            task.due_at,
            task.purpose,
            task.instructions,
        )
    one_off, tokyo = events
    who, active = scene.who, scene.clients["active"]
    assert one_off.client.model_dump() == {
        "name": active["name"],
        "email": active["email"],
        "stage": "lead",
        "phone": None,
        "property_address": None,
        "property_type": None,
        "notes": "Loves gardens",
        "custom_fields": {"b": "3"},
    }
    assert one_off.agent.model_dump() == {
        "name": "Ada Agent",
        "email": who.agent["email"],
        "title": "Broker",
        "brokerage": "Lovelace Realty",
        "phone": "+1 555 0100",
        "tone": who.agent.get("tone"),
    }
    delivery = one_off.delivery
    assert (delivery.to_name, delivery.from_name) == (
        active["name"],
        "Ada Agent via Lovelace Realty",
    )
    assert (delivery.reply_to, delivery.signature) == (who.agent["email"], "Ada\nLovelace Realty")
    assert (delivery.postal_address, delivery.send_mode) == ("1 Main St", "automatic")
    token = delivery.unsubscribe_url.removeprefix(f"{PUBLIC_BASE_URL}/unsubscribe/")
    key = crm.state.settings.unsubscribe_key()
    assert verify_unsubscribe(token, key) == uuid.UUID(active["id"])
    # Oldest first; activities of one transaction (same time) come in no set order.
    assert sorted((e.kind, e.summary) for e in one_off.timeline) == sorted(timeline_before)
    assert [e.at for e in one_off.timeline] == sorted(e.at for e in one_off.timeline)
    assert tokyo.client.phone == "+81 3 0000"
    assert tokyo.client_id == uuid.UUID(scene.clients["tokyo"]["id"])


def _name(scene: Scene, task_id: uuid.UUID) -> str:
    return next(name for name, value in scene.tasks.items() if value == task_id)


async def _assert_skips_recorded_and_plans_stopped(crm: Crm, scene: Scene) -> None:
    for name, reason in (("unsubscribed", "client unsubscribed"), ("deleted", "client deleted")):
        timeline = await _timeline(crm, scene.clients[name]["id"])
        assert timeline[-1] == ("follow_up_skipped", f"Custom follow-up skipped: {reason}")
    closed = await _timeline(crm, scene.clients["closed"]["id"])
    assert closed[-2:] == [
        ("follow_up_skipped", "Day 1 follow-up skipped: client stage is closed"),
        (
            "plan_stopped",
            "Follow-up plan 'Standard follow-up' stopped: client stage is closed "
            "(4 step(s) cancelled)",
        ),
    ]
    async with crm.state.sessions() as session:
        runs = {
            run.client_id: run
            for run in await session.scalars(
                select(PlanRun).where(PlanRun.id.in_([uuid.UUID(r) for r in scene.runs.values()]))
            )
        }
        cancelled = await session.scalar(
            text("SELECT count(*) FROM tasks WHERE plan_run_id = :run AND status = 'cancelled'"),
            {"run": uuid.UUID(scene.runs["closed"])},
        )
    closed_run = runs[uuid.UUID(scene.clients["closed"]["id"])]
    assert (closed_run.status, closed_run.stop_reason) == ("stopped", "client stage is closed")
    assert (closed_run.ended_at, cancelled) == (NOW, 4)
    for name in ("active", "tokyo"):
        assert runs[uuid.UUID(scene.clients[name]["id"])].status == "active"
    assert runs[uuid.UUID(scene.clients["paused"]["id"])].status == "paused"


async def test_a_short_limit_takes_the_earliest_due_tasks_first(crm: Crm) -> None:
    scene = await _scene(crm)
    first = await _claim(crm, limit=2)
    # The two earliest: the one-off five minutes before the others, then the first plan step
    # (a minute before them).
    assert first.claimed == [scene.tasks["active_one_off"]]
    assert first.deferred == [scene.tasks["active_plan"]]
    second = await _claim(crm, limit=50)
    assert second.claimed == [scene.tasks["tokyo_plan"]]
    assert scene.tasks["active_plan"] not in second.deferred  # now due on Saturday
    assert second.selected == 5  # tokyo, closed, unsubscribed, deleted, too long
