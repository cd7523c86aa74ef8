"""The agents' API: accounts, clients, tasks, scoping and the probes."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy.ext.asyncio import create_async_engine

from realtoros_contracts import AutoReplyReceived, ClientReplied
from tests.crm.helpers import PASSWORD, Crm, add_client, add_task, sign_up


async def test_register_login_and_me(crm: Crm) -> None:
    who = await sign_up(crm.http, email="Ada@Example.com", timezone="Europe/London")
    agent = who.agent
    assert agent["email"] == "ada@example.com"
    assert agent["timezone"] == "Europe/London"
    assert agent["send_mode"] == "automatic"
    assert "password" not in agent
    assert "password_hash" not in agent

    me = await crm.http.get("/me", headers=who.headers)
    assert me.status_code == 200
    assert me.json()["id"] == agent["id"]

    again = await crm.http.post(
        "/auth/register", json={"email": "ADA@example.com", "password": PASSWORD, "name": "X"}
    )
    assert again.status_code == 409
    wrong = await crm.http.post(
        "/auth/login", json={"email": "ada@example.com", "password": "not the password"}
    )
    assert wrong.status_code == 401
    assert wrong.headers["content-type"] == "application/problem+json"
    anonymous = await crm.http.get("/me")
    assert anonymous.status_code == 401
    forged = await crm.http.get("/me", headers={"Authorization": "Bearer not.a.token"})
    assert forged.status_code == 401


async def test_client_and_task_read_back(crm: Crm) -> None:
    who = await sign_up(crm.http)
    client = await add_client(
        crm.http,
        who,
        stage="prospect",
        phone="+1 555 0100",
        notes="Wants a garden",
        custom_fields={"budget": 450000, "school": "Elm"},
    )
    read = await crm.http.get(f"/clients/{client['id']}", headers=who.headers)
    assert read.status_code == 200
    assert read.json() == client
    assert client["custom_fields"] == {"budget": 450000, "school": "Elm"}
    assert client["unsubscribed"] is False

    later = await add_task(crm.http, who, client["id"], timedelta(days=2), purpose="Day 3")
    sooner = await add_task(crm.http, who, client["id"], timedelta(days=1))
    assert sooner["purpose"] == "Custom"
    assert sooner["status"] == "pending"
    assert sooner["email"] is None
    read_task = await crm.http.get(f"/tasks/{later['id']}", headers=who.headers)
    assert read_task.json() == later

    listed = await crm.http.get("/tasks", params={"status": "pending"}, headers=who.headers)
    assert [t["id"] for t in listed.json()] == [sooner["id"], later["id"]]
    none_sent = await crm.http.get("/tasks", params={"status": "sent"}, headers=who.headers)
    assert none_sent.json() == []


async def test_another_agents_records_are_not_found(crm: Crm) -> None:
    alice = await sign_up(crm.http)
    bob = await sign_up(crm.http)
    client = await add_client(crm.http, alice)
    task = await add_task(crm.http, alice, client["id"])

    for path in (
        f"/clients/{client['id']}",
        f"/tasks/{task['id']}",
        f"/clients/{client['id']}/timeline",
    ):
        response = await crm.http.get(path, headers=bob.headers)
        assert response.status_code == 404, path
        assert response.headers["content-type"] == "application/problem+json"
    steal = await crm.http.post(
        "/tasks",
        json={"client_id": client["id"], "due_at": "2030-01-01T09:00:00Z"},
        headers=bob.headers,
    )
    assert steal.status_code == 404
    assert (await crm.http.get("/tasks", headers=bob.headers)).json() == []
    assert (await crm.http.get("/clients", headers=bob.headers)).json() == []
    unknown = await crm.http.get(f"/tasks/{uuid.uuid4()}", headers=alice.headers)
    assert unknown.status_code == 404


async def test_probes_and_asyncapi(crm: Crm) -> None:
    assert (await crm.http.get("/healthz")).status_code == 200
    ready = await crm.http.get("/readyz")
    assert ready.status_code == 200, ready.text
    document = (await crm.http.get("/asyncapi.json")).json()
    channels = str(document["channels"])
    ns = crm.state.bus.ns
    assert ns.all_ticks() in channels
    assert "email.sent" in channels
    assert "task.due" in channels
    assert ns.subject(ClientReplied) in channels  # a client's reply, from the mailer
    assert ns.subject(AutoReplyReceived) in channels


async def test_readyz_reports_an_unreachable_database(crm: Crm) -> None:
    working = crm.state.engine
    crm.state.engine = create_async_engine("postgresql+asyncpg://nobody@127.0.0.1:1/none")
    try:
        ready = await crm.http.get("/readyz")
    finally:
        await crm.state.engine.dispose()
        crm.state.engine = working
    assert ready.status_code == 503
    problems = ready.json()["problems"]
    assert len(problems) == 1
    assert problems[0].startswith("database:")
