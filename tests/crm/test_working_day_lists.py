"""Saved lists: a filter under a name; its clients, a bulk change of all of them and the
export follow the filter as clients change; another agent's lists are not found."""

from __future__ import annotations

from tests.crm.helpers import Crm, add_client, sign_up
from tests.crm.plan_support import call


async def test_a_saved_list_lists_changes_and_exports_its_clients(crm: Crm) -> None:
    who = await sign_up(crm.http)
    hot = await add_client(
        crm.http, who, name="Jordan Lee", tags=["buyer", "hot"], property_address="12 Elm St, Salem"
    )
    await add_client(
        crm.http, who, name="Sam Cold", tags=["buyer"], property_address="3 Oak St, Salem"
    )
    body = {"name": "Hot buyers in Salem", "filter": {"q": "salem", "tag": ["buyer", "hot"]}}
    saved = await call(crm, who, "POST", "/lists", 201, json=body)
    assert saved["filter"]["tag"] == ["buyer", "hot"]
    again = await crm.http.post("/lists", json=body, headers=who.headers)
    assert again.status_code == 409
    members = await call(crm, who, "GET", f"/lists/{saved['id']}/clients")
    assert [c["id"] for c in members] == [hot["id"]]
    # A client that comes to fit the filter is in the list from then on.
    late = await add_client(
        crm.http, who, name="Ana Late", tags=["hot", "buyer"], property_address="9 Pine, Salem"
    )
    changed = await call(
        crm,
        who,
        "POST",
        f"/lists/{saved['id']}/bulk-update",
        json={"stage": "prospect", "add_tags": ["open-house"]},
    )
    assert changed["changed"] == 2
    for client_id in (hot["id"], late["id"]):
        client = await call(crm, who, "GET", f"/clients/{client_id}")
        assert client["stage"] == "prospect"
        assert "open-house" in client["tags"]
    export = await crm.http.get(f"/lists/{saved['id']}/export.csv", headers=who.headers)
    assert export.status_code == 200
    lines = export.text.strip().splitlines()
    assert len(lines) == 3
    assert {"Jordan Lee", "Ana Late"} == {ln.split(",")[0] for ln in lines[1:]}
    renamed = await call(crm, who, "PATCH", f"/lists/{saved['id']}", json={"name": "Salem hot"})
    assert [s["name"] for s in await call(crm, who, "GET", "/lists")] == [renamed["name"]]
    bad = await crm.http.post(
        "/lists", headers=who.headers, json={"name": "x", "filter": {"stage": ["married"]}}
    )
    assert bad.status_code == 422


async def test_another_agents_lists_are_invisible(crm: Crm) -> None:
    ada, bob = await sign_up(crm.http), await sign_up(crm.http)
    await add_client(crm.http, ada, tags=["hot"])
    saved = await call(
        crm, ada, "POST", "/lists", 201, json={"name": "Hot", "filter": {"tag": ["hot"]}}
    )
    assert await call(crm, bob, "GET", "/lists") == []
    for method, path in (
        ("GET", ""),
        ("PATCH", ""),
        ("DELETE", ""),
        ("GET", "/clients"),
        ("GET", "/export.csv"),
        ("POST", "/bulk-update"),
    ):
        answer = await crm.http.request(
            method, f"/lists/{saved['id']}{path}", headers=bob.headers, json={"add_tags": ["x"]}
        )
        assert answer.status_code == 404, (method, path)
    # Bob's own list with the same filter holds none of Ada's clients.
    his = await call(
        crm, bob, "POST", "/lists", 201, json={"name": "Hot", "filter": {"tag": ["hot"]}}
    )
    assert await call(crm, bob, "GET", f"/lists/{his['id']}/clients") == []
