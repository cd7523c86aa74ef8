"""The probe a tick asks before claiming: yes exactly when the claim would find a task (a
pending email task due by then, not of a paused plan), so a tick with nothing due skips
the claim and one with something due never does."""

from __future__ import annotations

from datetime import timedelta

from realtoros_crm.claims.probe import anything_due
from tests.crm.helpers import Crm, add_client, add_task, now, sign_up
from tests.crm.plan_support import call
from tests.crm.test_plans import default_plan_id


async def test_the_probe_answers_as_the_claim_would(crm: Crm) -> None:
    sessions = crm.state.sessions
    who = await sign_up(crm.http)
    client = await add_client(crm.http, who)
    assert not await anything_due(sessions, now())

    await add_task(crm.http, who, client["id"], timedelta(minutes=-5), task_type="call")
    await add_task(crm.http, who, client["id"], timedelta(minutes=-5), task_type="meeting")
    assert not await anything_due(sessions, now())  # the agent's own to-dos: never claimed

    await add_task(crm.http, who, client["id"], timedelta(hours=1))
    assert not await anything_due(sessions, now())
    assert await anything_due(sessions, now() + timedelta(hours=1, seconds=1))


async def test_a_paused_plans_steps_are_not_due_until_it_resumes(crm: Crm) -> None:
    sessions = crm.state.sessions
    who = await sign_up(crm.http)
    client = await add_client(crm.http, who)
    body = {"plan_id": await default_plan_id(crm, who)}
    run = await call(crm, who, "POST", f"/clients/{client['id']}/plans", 201, json=body)
    later = now() + timedelta(days=40)  # every step of the plan is past due by then
    assert await anything_due(sessions, later)

    await call(crm, who, "POST", f"/plan-runs/{run['id']}/pause")
    assert not await anything_due(sessions, later)
    await call(crm, who, "POST", f"/plan-runs/{run['id']}/resume")
    assert await anything_due(sessions, later + timedelta(days=1))
