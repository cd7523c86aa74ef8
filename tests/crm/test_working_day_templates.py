"""Email templates: merge fields checked when saved, previewed with a real client, rendered
into the TaskDue at the claim (the composer never calls back), and a field a client has
no value for fails the step with that reason instead of sending "Hi {{first_name}}"."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import nats.js

from realtoros_contracts import TaskDue
from realtoros_runtime.publisher import EventPublisher
from tests.crm.helpers import (
    Crm,
    SignedIn,
    add_client,
    add_task,
    publish_tick,
    sign_up,
    wait_task_status,
)
from tests.crm.plan_support import call
from tests.support.streams import stream_messages
from tests.support.waiting import eventually

INVITE = {
    "name": "Open house",
    "subject": "Open house at {{property_address}}",
    "body": "Hi {{first_name}},\nSee you Saturday ({{move_in}}).\n{{agent_name}}, {{agent_phone}}",
}


async def setup(crm: Crm) -> tuple[SignedIn, dict[str, Any]]:
    who = await sign_up(crm.http, name="Dana Ruiz", phone="555 0100")
    await call(
        crm,
        who,
        "POST",
        "/custom-fields",
        201,
        json={"key": "move_in", "label": "Move-in", "field_type": "date"},
    )
    template = await call(crm, who, "POST", "/email-templates", 201, json=INVITE)
    return who, template


async def full_and_bare(crm: Crm, who: SignedIn) -> tuple[dict[str, Any], dict[str, Any]]:
    """A client with every field of the template, and one with only a name."""
    full = await add_client(
        crm.http,
        who,
        name="Jordan Lee",
        property_address="12 Elm St",
        custom_fields={"move_in": "2026-06-01"},
    )
    return full, await add_client(crm.http, who, name="Sam")


async def test_a_template_with_a_field_nobody_can_fill_is_refused(crm: Crm) -> None:
    who, template = await setup(crm)
    for body in ("Hi {{firstname}}", "Hi {{first_name}", "Hi {first_name}}"):
        answer = await crm.http.post(
            "/email-templates", headers=who.headers, json={**INVITE, "name": "x", "body": body}
        )
        assert answer.status_code == 422, body
    unknown = await crm.http.patch(
        f"/email-templates/{template['id']}", headers=who.headers, json={"subject": "{{budget}}"}
    )
    assert "unknown merge field(s) {{budget}}" in unknown.json()["detail"]
    fields = {f["name"] for f in await call(crm, who, "GET", "/email-templates/merge-fields")}
    assert {"first_name", "agent_phone", "move_in"} <= fields


async def test_the_preview_fills_in_a_real_clients_data_and_names_what_is_missing(
    crm: Crm,
) -> None:
    who, template = await setup(crm)
    full, bare = await full_and_bare(crm, who)
    url = f"/email-templates/{template['id']}/preview?client_id="
    ready = await call(crm, who, "GET", url + full["id"])
    assert ready == {
        "subject": "Open house at 12 Elm St",
        "body": "Hi Jordan,\nSee you Saturday (2026-06-01).\nDana Ruiz, 555 0100",
        "missing": [],
        "ready": True,
    }
    partial = await call(crm, who, "GET", url + bare["id"])
    assert partial["missing"] == ["property_address", "move_in"]
    assert partial["ready"] is False
    assert partial["body"].startswith("Hi Sam,\nSee you Saturday ({{move_in}})")


async def test_a_template_step_sends_the_rendered_template_or_fails_with_the_reason(
    crm: Crm, publisher: EventPublisher, js: nats.js.JetStreamContext
) -> None:
    who, template = await setup(crm)
    full, bare = await full_and_bare(crm, who)
    sent = await add_task(
        crm.http, who, full["id"], timedelta(minutes=-1), template_id=template["id"]
    )
    held = await add_task(
        crm.http, who, bare["id"], timedelta(minutes=-1), template_id=template["id"]
    )
    await publish_tick(publisher)
    await wait_task_status(crm.http, who, sent["id"], "composing")
    failed = await wait_task_status(crm.http, who, held["id"], "failed")
    assert failed["failure_reason"] == (
        "template 'Open house' needs property address, move in: empty for this client"
    )
    ns = crm.state.bus.ns

    async def published() -> list[TaskDue]:
        messages = await stream_messages(js, ns.stream_for(TaskDue).name, ns.subject(TaskDue))
        return [TaskDue.model_validate_json(m.data or b"") for m in messages]

    [event] = await eventually(published, what="the TaskDue")
    assert event.template is not None
    assert str(event.template.template_id) == template["id"]
    assert event.template.subject == "Open house at 12 Elm St"
    assert event.template.body.startswith("Hi Jordan,")


async def test_plan_steps_send_templates_and_a_used_template_stays(crm: Crm) -> None:
    who, template = await setup(crm)
    step = {"delay_days": 0, "purpose": "Invite", "template_id": template["id"]}
    plan = await call(crm, who, "POST", "/plans", 201, json={"name": "Invite", "steps": [step]})
    assert plan["steps"][0]["template_id"] == template["id"]
    client = await add_client(crm.http, who)
    run = await call(
        crm, who, "POST", f"/clients/{client['id']}/plans", 201, json={"plan_id": plan["id"]}
    )
    [task] = await call(crm, who, "GET", f"/tasks?plan_run_id={run['id']}")
    assert task["template_id"] == template["id"]
    in_use = await crm.http.delete(f"/email-templates/{template['id']}", headers=who.headers)
    assert in_use.status_code == 409
    call_step = {**step, "action": "call"}
    answer = await crm.http.post(f"/plans/{plan['id']}/steps", json=call_step, headers=who.headers)
    assert answer.status_code == 422


async def test_another_agents_templates_are_invisible(crm: Crm) -> None:
    ada, template = await setup(crm)
    bob = await sign_up(crm.http)
    client = await add_client(crm.http, bob)
    assert await call(crm, bob, "GET", "/email-templates") == []
    for method in ("GET", "PATCH", "DELETE"):
        answer = await crm.http.request(
            method, f"/email-templates/{template['id']}", headers=bob.headers, json={"name": "Mine"}
        )
        assert answer.status_code == 404, method
    preview = f"/email-templates/{template['id']}/preview?client_id={client['id']}"
    assert (await crm.http.get(preview, headers=bob.headers)).status_code == 404
    # Nor can Bob make his task or plan send Ada's template.
    task = {
        "client_id": client["id"],
        "due_at": "2030-01-01T09:00:00Z",
        "template_id": template["id"],
    }
    assert (await crm.http.post("/tasks", json=task, headers=bob.headers)).status_code == 422
    step = {"delay_days": 0, "purpose": "x", "template_id": template["id"]}
    plan = {"name": "Stolen", "steps": [step]}
    assert (await crm.http.post("/plans", json=plan, headers=bob.headers)).status_code == 422
    # Ada's client stays hers in Ada's own preview too.
    own = f"/email-templates/{template['id']}/preview?client_id={client['id']}"
    assert (await crm.http.get(own, headers=ada.headers)).status_code == 404
