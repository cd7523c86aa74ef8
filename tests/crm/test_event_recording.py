"""The rules of recording a draft and a send that the other tests leave out: a second draft
replaces an untouched one but never the agent's edit, a send clears an earlier failure,
the client's last contact only moves forward, and the last step sent completes its plan."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import nats.js

from realtoros_contracts import EmailComposed, EmailFailed, EmailSent
from realtoros_crm.clock import ManualClock
from realtoros_crm.consumers import COMPOSED_DURABLE, SENT_DURABLE
from realtoros_runtime.publisher import EventPublisher
from tests.crm import plan_support
from tests.crm.helpers import (
    Crm,
    add_client,
    add_task,
    get_task,
    publish_tick,
    sign_up,
    wait_task_status,
)
from tests.crm.plan_support import call, run_tasks, tick_and_settle, when
from tests.crm.test_consumers import activities, composed, ids, sent
from tests.crm.test_drafts import held_draft
from tests.support.streams import wait_consumed

clock = plan_support.clock
crm_at = plan_support.crm_at


async def test_a_second_draft_replaces_an_untouched_one_but_never_the_agents_edit(
    crm: Crm, publisher: EventPublisher, js: nats.js.JetStreamContext
) -> None:
    who, task = await held_draft(crm, publisher)
    stream = crm.state.bus.ns.stream_for(EmailComposed).name
    second = composed(task, who, send_mode="automatic").model_copy(update={"subject": "Again"})
    await publisher.publish(second, event_id=str(uuid.uuid4()))
    await wait_consumed(js, stream, COMPOSED_DURABLE)
    url = f"/tasks/{task['id']}/draft"
    replaced = await call(crm, who, "GET", url)
    assert (replaced["status"], replaced["subject"]) == ("awaiting_approval", "Again")

    await call(crm, who, "PATCH", url, json={"subject": "Edited", "body_text": "Mine"})
    third = second.model_copy(update={"subject": "Late", "body_text": "Not mine"})
    await publisher.publish(third, event_id=str(uuid.uuid4()))
    await wait_consumed(js, stream, COMPOSED_DURABLE)
    kept = await call(crm, who, "GET", url)
    assert (kept["status"], kept["subject"], kept["body_text"]) == (
        "awaiting_approval",
        "Edited",
        "Mine",
    )
    timeline = await activities(crm, task["client_id"])
    drafted = [a.summary for a in timeline if a.kind == "email_drafted"]
    assert drafted == ["Email drafted: Checking in", "Email drafted: Again"]


async def test_a_send_clears_a_failure_and_the_last_contact_only_moves_forward(
    crm: Crm, publisher: EventPublisher, js: nats.js.JetStreamContext
) -> None:
    who = await sign_up(crm.http)
    client = await add_client(crm.http, who)
    first = await add_task(crm.http, who, client["id"])
    second = await add_task(crm.http, who, client["id"])
    await publish_tick(publisher)
    early, late = [
        await wait_task_status(crm.http, who, task["id"], "composing") for task in (first, second)
    ]
    at = datetime.now(UTC).replace(microsecond=0)
    unsure = EmailFailed(**ids(late, who), outcome="unknown", reason="SES timed out", failed_at=at)
    await publisher.publish(unsure, event_id="failed:late")
    await wait_task_status(crm.http, who, late["id"], "unknown")

    await publisher.publish(sent(late, who, at), event_id="sent:late")
    await publisher.publish(sent(early, who, at - timedelta(hours=1)), event_id="sent:early")
    await wait_consumed(js, crm.state.bus.ns.stream_for(EmailSent).name, SENT_DURABLE)
    recorded = await get_task(crm.http, who, late["id"])
    assert (recorded["status"], recorded["failure_reason"]) == ("sent", None)
    assert (recorded["email"]["status"], recorded["email"]["failure_reason"]) == ("sent", None)
    assert (await get_task(crm.http, who, early["id"]))["status"] == "sent"
    contacted = await call(crm, who, "GET", f"/clients/{client['id']}")
    assert datetime.fromisoformat(contacted["last_contacted_at"]) == at
    timeline = [(a.kind, a.occurred_at) for a in await activities(crm, client["id"])]
    assert sorted(timeline) == [
        ("email_sent", at - timedelta(hours=1)),
        ("email_sent", at),
        ("email_unknown", at),
    ]


async def test_the_last_step_sent_completes_the_plan_run(
    crm_at: Crm, clock: ManualClock, publisher: EventPublisher, js: nats.js.JetStreamContext
) -> None:
    who = await sign_up(crm_at.http, timezone="America/New_York")
    plan = await call(crm_at, who, "POST", "/plans", 201, json={"name": "Two steps"})
    for days, purpose in ((1, "First"), (2, "Second")):
        step = {"delay_days": days, "purpose": purpose}
        await call(crm_at, who, "POST", f"/plans/{plan['id']}/steps", 201, json=step)
    clock.set(when("2026-11-16T11:00:00-05:00"))  # Monday
    client = await add_client(crm_at.http, who)
    run = await call(
        crm_at, who, "POST", f"/clients/{client['id']}/plans", 201, json={"plan_id": plan["id"]}
    )
    for day in ("2026-11-17", "2026-11-18"):
        clock.set(when(f"{day}T10:00:00-05:00"))
        await tick_and_settle(crm_at, publisher, js, clock)
        claimed = [t for t in await run_tasks(crm_at, who, run["id"]) if t["status"] == "composing"]
        task = await get_task(crm_at.http, who, claimed[0]["id"])
        await publisher.publish(sent(task, who, clock()), event_id=f"sent:{day}")
        await wait_task_status(crm_at.http, who, task["id"], "sent")
        status = (await call(crm_at, who, "GET", f"/plan-runs/{run['id']}"))["status"]
        assert status == ("active" if day == "2026-11-17" else "done")
    in_write_order = sorted(await activities(crm_at, client["id"]), key=lambda a: a.seq)
    assert [a.kind for a in in_write_order][-3:] == ["email_sent", "email_sent", "plan_done"]
