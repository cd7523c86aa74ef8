"""Phone-only leads and typed custom fields: a client needs a name and an email or a phone;
an email step for a client without an email is skipped with that reason (the plan goes on);
custom fields are defined once per agent, checked, filterable, and read by the import."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from realtoros_runtime.publisher import EventPublisher
from tests.crm.helpers import Crm, add_client, add_task, publish_tick, sign_up, wait_task_status
from tests.crm.plan_support import call


async def test_a_client_needs_an_email_or_a_phone(crm: Crm) -> None:
    who = await sign_up(crm.http)
    phone_only = await add_client(crm.http, who, email=None, phone="555-010-0199")
    assert phone_only["email"] is None
    neither = await crm.http.post("/clients", json={"name": "Nobody"}, headers=who.headers)
    assert neither.status_code == 422
    assert "email address or a phone" in neither.json()["detail"]
    # Removing the phone of a phone-only lead would leave no way to reach them.
    cleared = await crm.http.patch(
        f"/clients/{phone_only['id']}", json={"phone": None}, headers=who.headers
    )
    assert cleared.status_code == 422
    found = await call(crm, who, "GET", "/clients?q=0100199")
    assert [c["id"] for c in found] == [phone_only["id"]]


async def test_an_email_task_of_a_phone_only_client_is_skipped_not_failed(
    crm: Crm, publisher: EventPublisher
) -> None:
    who = await sign_up(crm.http)
    client = await add_client(crm.http, who, email=None, phone="555 0101")
    task = await add_task(crm.http, who, client["id"], timedelta(minutes=-1))
    await publish_tick(publisher)
    skipped = await wait_task_status(crm.http, who, task["id"], "skipped")
    assert skipped["failure_reason"] == "client has no email address"
    assert skipped["email"] is None
    drafted = await crm.http.post(f"/clients/{client['id']}/drafts", headers=who.headers, json={})
    assert drafted.status_code == 409
    assert drafted.json()["detail"] == "no email can be drafted: client has no email address"


async def test_a_plan_of_a_phone_only_client_keeps_its_calls(
    crm: Crm, publisher: EventPublisher
) -> None:
    who = await sign_up(crm.http)
    steps = [
        {"delay_days": 0, "time_of_day": "00:00", "action": "email", "purpose": "Hello"},
        {"delay_days": 1, "action": "call", "purpose": "Call"},
    ]
    plan = await call(crm, who, "POST", "/plans", 201, json={"name": "Calls", "steps": steps})
    client = await add_client(crm.http, who, email=None, phone="555 0102")
    run = await call(
        crm,
        who,
        "POST",
        f"/clients/{client['id']}/plans",
        201,
        json={"plan_id": plan["id"], "start_at": "2020-01-01T00:00:00Z"},
    )
    tasks = await call(crm, who, "GET", f"/tasks?plan_run_id={run['id']}")
    email = next(t for t in tasks if t["task_type"] == "email")
    await publish_tick(publisher)
    assert (await wait_task_status(crm.http, who, email["id"], "skipped"))["failure_reason"] == (
        "client has no email address"
    )
    assert (await call(crm, who, "GET", f"/plan-runs/{run['id']}"))["status"] == "active"


async def define(crm: Crm, who: Any, **field: Any) -> dict[str, Any]:
    result: dict[str, Any] = await call(crm, who, "POST", "/custom-fields", 201, json=field)
    return result


async def test_custom_fields_are_typed_checked_and_filterable(crm: Crm) -> None:
    who = await sign_up(crm.http)
    await define(crm, who, key="birthday", label="Birthday", field_type="date")
    await define(crm, who, key="budget", label="Budget", field_type="number")
    await define(
        crm,
        who,
        key="timeline",
        label="Timeline",
        field_type="choice",
        choices=["0-3 months", "6+ months"],
    )
    soon = await add_client(
        crm.http,
        who,
        custom_fields={"birthday": "04/05/1980", "budget": "450,000", "timeline": "0-3 months"},
    )
    assert soon["custom_fields"] == {
        "birthday": "1980-04-05",
        "budget": 450000,
        "timeline": "0-3 months",
    }
    later = await add_client(
        crm.http, who, custom_fields={"budget": 300000, "timeline": "6+ months"}
    )
    for bad in ({"birthday": "soon"}, {"budget": "lots"}, {"timeline": "never"}):
        answer = await crm.http.post(
            "/clients", headers=who.headers, json={"name": "X", "phone": "1", "custom_fields": bad}
        )
        assert answer.status_code == 422, bad
    answer = await crm.http.patch(
        f"/clients/{later['id']}", headers=who.headers, json={"custom_fields": {"budget": "a lot"}}
    )
    assert answer.status_code == 422
    assert "Budget must be a number" in answer.json()["detail"]

    async def ids(query: str) -> set[str]:
        return {c["id"] for c in await call(crm, who, "GET", f"/clients?{query}")}

    assert await ids("field=budget>=400000") == {soon["id"]}
    assert await ids("field=budget<=400000") == {later["id"]}
    assert await ids("field=timeline=6%2B%20months") == {later["id"]}
    assert await ids("field=birthday<=1990-01-01&field=budget>=1") == {soon["id"]}
    assert (await crm.http.get("/clients?field=nope", headers=who.headers)).status_code == 422
    duplicate = await crm.http.post(
        "/custom-fields",
        headers=who.headers,
        json={"key": "budget", "label": "B", "field_type": "text"},
    )
    assert duplicate.status_code == 409


async def test_the_import_reads_a_birthday_column_as_the_date_field(crm: Crm) -> None:
    who = await sign_up(crm.http)
    await define(crm, who, key="birthday", label="Birthday", field_type="date")
    csv = (
        "Name,Email,Phone,Birthday\n"
        "Ana Ortiz,ana@example.com,,03/14/1985\n"
        "Bo Chen,,555 0102,1990-07-01\n"
        "Cy Dee,cy@example.com,,not a date\n"
        "No Way,,,\n"
    )
    answer = await crm.http.post(
        "/clients/import", headers=who.headers, files={"file": ("c.csv", csv, "text/csv")}
    )
    assert answer.status_code == 201, answer.text
    job = answer.json()
    assert job["imported"] == 2
    reasons = {s["row"]: s["reason"] for s in job["report"]["skipped"]}
    assert reasons == {4: "Birthday must be a date (YYYY-MM-DD)", 5: "no email address or phone"}
    assert job["mapping"]["Birthday"] == "field:birthday"
    clients = {c["name"]: c for c in await call(crm, who, "GET", "/clients")}
    assert clients["Ana Ortiz"]["custom_fields"] == {"birthday": "1985-03-14"}
    assert clients["Bo Chen"]["email"] is None


async def test_another_agents_fields_are_invisible(crm: Crm) -> None:
    ada, bob = await sign_up(crm.http), await sign_up(crm.http)
    field = await define(crm, ada, key="budget", label="Budget", field_type="number")
    assert await call(crm, bob, "GET", "/custom-fields") == []
    for method in ("PATCH", "DELETE"):
        answer = await crm.http.request(
            method, f"/custom-fields/{field['id']}", headers=bob.headers, json={"label": "Mine"}
        )
        assert answer.status_code == 404
    # Bob's "budget" is free text: Ada's definition does not type his clients' values.
    client = await add_client(crm.http, bob, custom_fields={"budget": "a lot"})
    assert client["custom_fields"] == {"budget": "a lot"}
