"""Agent A can neither read, list, change nor delete anything of agent B's: every route of
the app (enumerated, so routes added later are covered) is called by A with B's ids, and
answers 404 for them (never 403, never B's data); B's records are unchanged afterwards."""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

from tests.crm.helpers import Crm, SignedIn, add_client, add_task, sign_up
from tests.crm.test_auth_required import PUBLIC, operations

# A path parameter name → which of B's records to put in it.
ID_PARAMS = {
    "client_id": "client",
    "task_id": "task",
    "import_id": "import",
    "id": "client",
    "endpoint_id": "endpoint",
    "key_id": "key",
}


async def _bobs_world(crm: Crm) -> tuple[SignedIn, dict[str, str]]:
    bob = await sign_up(crm.http)
    client = await add_client(crm.http, bob, name="Bob's Client", tags=["secret"])
    task = await add_task(crm.http, bob, client["id"])
    files = {"file": ("b.csv", b"Name,Email\r\nB2,b2@example.com\r\n", "text/csv")}
    job = await crm.http.post("/clients/import", files=files, headers=bob.headers)
    assert job.status_code == 201, job.text
    hook = {"url": "https://hooks.example.com/bob", "event_types": ["client.created"]}
    endpoint = await crm.http.post("/webhooks", json=hook, headers=bob.headers)
    key = await crm.http.post(
        "/api-keys", json={"name": "b", "scopes": ["clients:read"]}, headers=bob.headers
    )
    ids = {"client": client["id"], "task": task["id"], "import": job.json()["id"]}
    return bob, {**ids, "endpoint": endpoint.json()["id"], "key": key.json()["id"]}


def _fill(path: str, ids: dict[str, str]) -> str:
    def one(match: re.Match[str]) -> str:
        name = match.group(1).split(":")[0]
        return ids[ID_PARAMS[name]] if name in ID_PARAMS else str(uuid.uuid4())

    return re.sub(r"\{([^}]+)\}", one, path)


async def test_no_route_reaches_another_agents_records(crm: Crm) -> None:
    bob, ids = await _bobs_world(crm)
    alice = await sign_up(crm.http)
    before = (await crm.http.get(f"/clients/{ids['client']}", headers=bob.headers)).json()
    body: dict[str, Any] = {"ids": [ids["client"]], "stage": "lost", "client_id": ids["client"]}
    checked = 0
    for method, route in operations(crm):
        if route in PUBLIC:
            continue
        response = await crm.http.request(
            method, _fill(route, ids), content=json.dumps(body), headers=alice.headers
        )
        checked += 1
        assert response.status_code != 403, (method, route)
        text = response.text.replace(f"client {ids['client']} not found", "")
        assert "Bob's Client" not in text, (method, route, text)
        assert ids["client"] not in text, (method, route, text)
        if "{" in route and response.status_code < 400:
            raise AssertionError(f"{method} {route} answered {response.status_code}")
    assert checked > 20
    after = (await crm.http.get(f"/clients/{ids['client']}", headers=bob.headers)).json()
    assert after == before
    tasks = (await crm.http.get("/tasks", headers=bob.headers)).json()
    assert [t["id"] for t in tasks] == [ids["task"]]
    [endpoint] = (await crm.http.get("/webhooks", headers=bob.headers)).json()
    assert endpoint["id"] == ids["endpoint"]
    [key] = (await crm.http.get("/api-keys", headers=bob.headers)).json()
    assert key["revoked_at"] is None


async def test_bob_ids_are_404_on_the_id_routes(crm: Crm) -> None:
    bob, ids = await _bobs_world(crm)
    alice = await sign_up(crm.http)
    for method, path in (
        ("GET", f"/clients/{ids['client']}"),
        ("PATCH", f"/clients/{ids['client']}"),
        ("DELETE", f"/clients/{ids['client']}"),
        ("POST", f"/clients/{ids['client']}/restore"),
        ("GET", f"/clients/{ids['client']}/timeline"),
        ("GET", f"/clients/imports/{ids['import']}"),
        ("GET", f"/tasks/{ids['task']}"),
    ):
        response = await crm.http.request(method, path, json={}, headers=alice.headers)
        assert response.status_code == 404, (method, path, response.text)
    bulk = await crm.http.post(
        "/clients/bulk-delete", json={"ids": [ids["client"]]}, headers=alice.headers
    )
    assert bulk.json() == {"changed": 0, "not_found": [ids["client"]]}
    listed = await crm.http.get("/clients", params={"tag": "secret"}, headers=alice.headers)
    assert listed.json() == []
    export = await crm.http.get("/clients/export.csv", headers=alice.headers)
    assert "Bob" not in export.text
    assert (await crm.http.get(f"/clients/{ids['client']}", headers=bob.headers)).is_success
