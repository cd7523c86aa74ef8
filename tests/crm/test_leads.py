"""Lead intake: a website form or a lead source posts leads with a key; a lead is one client
however often it is posted; duplicates are judged as the CSV import judges them; the new
client gets the source's plan."""

from __future__ import annotations

from typing import Any

from tests.crm.helpers import Crm, SignedIn, add_client, sign_up
from tests.crm.integrations import add_key, bearer


async def _clients(crm: Crm, who: SignedIn) -> list[dict[str, Any]]:
    clients: list[dict[str, Any]] = (await crm.http.get("/clients", headers=who.headers)).json()
    return clients


async def test_a_lead_posted_twice_is_one_client_updated_by_the_second(crm: Crm) -> None:
    agent = await sign_up(crm.http)
    key = bearer(await add_key(crm.http, agent, "leads:write", "clients:read", name="Zapier"))
    lead = {
        "lead_id": "zl-889134",
        "source": "Zillow",
        "First Name": "Jordan",
        "Last Name": "Lee",
        "Email": "jordan@example.com",
        "message": "Is 12 Elm St still available?",
        "tags": ["buyer"],
        "Budget": "450k",
    }
    first = await crm.http.post("/leads", json=lead, headers=key)
    assert first.status_code == 202, first.text
    assert first.json()["created"] is True
    again = await crm.http.post(
        "/leads", json={**lead, "phone": "555 010 0142", "tags": "pre-approved"}, headers=key
    )
    assert again.status_code == 202, again.text
    assert again.json() == {
        **again.json(),
        "created": False,
        "client_id": first.json()["client_id"],
    }
    [client] = await _clients(crm, agent)
    assert client["name"] == "Jordan Lee"
    assert client["source"] == "Zillow"
    assert client["phone"] == "555 010 0142"
    assert client["tags"] == ["buyer", "pre-approved"]
    detail = (await crm.http.get(f"/clients/{client['id']}", headers=agent.headers)).json()
    assert detail["notes"] == "Is 12 Elm St still available?"
    assert detail["custom_fields"] == {"Budget": "450k"}


async def test_a_plain_html_form_posts_a_lead_and_is_sent_on(crm: Crm) -> None:
    agent = await sign_up(crm.http)
    form_key = await add_key(crm.http, agent, "leads:write", name="Website form")
    form = {
        "name": "Sam Rivera",
        "email": "sam@example.org",
        "phone": "555-010-7777",
        "message": "Looking for a 3-bed near the park",
        "redirect_to": "https://harbor.example/thanks",
    }
    posted = await crm.http.post(f"/leads?key={form_key['key']}", data=form)
    assert posted.status_code == 303, posted.text
    assert posted.headers["location"] == "https://harbor.example/thanks"
    [client] = await _clients(crm, agent)
    assert (client["name"], client["source"]) == ("Sam Rivera", "Website form")


async def test_a_form_key_learns_nothing_about_the_agents_clients(crm: Crm) -> None:
    agent = await sign_up(crm.http)
    await add_client(crm.http, agent, name="Existing", email="known@example.org")
    form_key = bearer(await add_key(crm.http, agent, "leads:write"))
    known = await crm.http.post("/leads", json={"email": "known@example.org"}, headers=form_key)
    unknown = await crm.http.post(
        "/leads", json={"email": "new@example.org", "name": "New"}, headers=form_key
    )
    assert known.json() == unknown.json() == {"status": "accepted"}


async def test_duplicates_by_email_and_phone_are_handled_as_in_the_import(crm: Crm) -> None:
    agent = await sign_up(crm.http)
    existing = await add_client(
        crm.http, agent, name="Ana Ortiz", email="Ana@Example.com", phone="(555) 010-0101"
    )
    key = bearer(await add_key(crm.http, agent, "leads:write", "clients:read"))
    same_email = await crm.http.post(
        "/leads", json={"email": "ana@example.com ", "name": "Ana O."}, headers=key
    )
    assert same_email.json()["created"] is False
    assert same_email.json()["client_id"] == existing["id"]
    same_phone = await crm.http.post(
        "/leads",
        json={"email": "bo@example.com", "name": "Bo", "phone": "555 010 0101"},
        headers=key,
    )
    assert same_phone.json()["created"] is True
    [duplicate] = same_phone.json()["duplicates"]
    assert duplicate["matched_on"] == "phone"
    assert duplicate["client_id"] == existing["id"]
    assert len(await _clients(crm, agent)) == 2


async def test_a_new_lead_gets_the_plan_of_its_source(crm: Crm) -> None:
    agent = await sign_up(crm.http)
    body = {"name": "Zillow leads", "steps": [{"delay_days": 0, "purpose": "Welcome"}]}
    plan = (await crm.http.post("/plans", json=body, headers=agent.headers)).json()
    key = bearer(
        await add_key(crm.http, agent, "leads:write", "clients:read", lead_plan_id=plan["id"])
    )
    taken = await crm.http.post(
        "/leads", json={"email": "z@example.org", "name": "Zed"}, headers=key
    )
    runs = await crm.http.get(f"/clients/{taken.json()['client_id']}/plans", headers=agent.headers)
    assert [run["plan_id"] for run in runs.json()] == [plan["id"]]


async def test_a_lead_that_is_not_one_gets_a_clear_4xx(crm: Crm) -> None:
    agent = await sign_up(crm.http)
    key = bearer(await add_key(crm.http, agent, "leads:write"))
    no_email = await crm.http.post("/leads", json={"name": "Nobody"}, headers=key)
    assert no_email.status_code == 400
    assert "email" in no_email.json()["detail"]
    bad_email = await crm.http.post("/leads", json={"email": "not-an-address"}, headers=key)
    assert bad_email.status_code == 400
    not_json = await crm.http.post(
        "/leads", content=b"{", headers={**key, "content-type": "application/json"}
    )
    assert not_json.status_code == 400
    xml = await crm.http.post(
        "/leads", content=b"<lead/>", headers={**key, "content-type": "text/xml"}
    )
    assert xml.status_code == 415
    nested = await crm.http.post(
        "/leads", json={"email": "a@example.org", "x": {"y": 1}}, headers=key
    )
    assert nested.status_code == 400
    huge = await crm.http.post(
        "/leads", json={"email": "a@example.org", "notes": "x" * 70_000}, headers=key
    )
    assert huge.status_code == 400
    assert await _clients(crm, agent) == []
