"""What one page of the client list carries: every public field of every client, exactly as
the client's own page shows it, and only for an agent that still exists."""

from __future__ import annotations

import uuid

from sqlalchemy import delete

from realtoros_crm.agents.models import Agent
from realtoros_crm.clients.schemas import ClientPublic
from tests.crm.helpers import Crm, add_client, sign_up


async def test_a_page_shows_each_client_as_its_own_page_does(crm: Crm) -> None:
    who = await sign_up(crm.http)
    made = [
        await add_client(
            crm.http,
            who,
            name="Zoë Ångström",
            phone="+1 555 0101",
            stage="prospect",
            property_address="1 Elm St",
            property_type="residential",
            source="Open house",
            tags=["vip", "buyer"],
            notes="Wants a garden\nand a shed",
            custom_fields={"beds": 3, "budget": 2.5, "pre_approved": True, "area": "North"},
            timezone="Europe/Oslo",
        ),
        await add_client(crm.http, who),  # every optional field empty
    ]
    patched = await crm.http.patch(
        f"/clients/{made[1]['id']}", json={"unsubscribed": True}, headers=who.headers
    )
    assert patched.status_code == 200, patched.text

    listed = await crm.http.get("/clients", params={"limit": 50}, headers=who.headers)
    assert listed.status_code == 200, listed.text
    assert listed.headers["content-type"] == "application/json"
    page = listed.json()
    # newest first, the list's default order (issue 20)
    assert [client["id"] for client in page] == [client["id"] for client in reversed(made)]
    for client in page:
        assert set(client) == set(ClientPublic.model_fields)
        detail = await crm.http.get(f"/clients/{client['id']}", headers=who.headers)
        assert client == {key: detail.json()[key] for key in ClientPublic.model_fields}
    first, empty = page[1], page[0]  # Zoë was made first
    assert first["custom_fields"] == {
        "beds": 3,
        "budget": 2.5,
        "pre_approved": True,
        "area": "North",
    }
    assert (first["name"], first["tags"]) == ("Zoë Ångström", ["vip", "buyer"])
    assert "Zoë Ångström".encode() in listed.content  # UTF-8, not \\u escapes
    assert empty["unsubscribed"] is True
    assert empty["phone"] is None
    assert empty["custom_fields"] == {}


async def test_the_list_refuses_a_token_whose_agent_is_gone(crm: Crm) -> None:
    who = await sign_up(crm.http)
    await add_client(crm.http, who)
    async with crm.state.sessions() as session, session.begin():
        await session.execute(delete(Agent).where(Agent.id == uuid.UUID(who.agent["id"])))
    response = await crm.http.get("/clients", headers=who.headers)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"
    bad = await crm.http.get("/clients", headers={"Authorization": "Bearer not-a-token"})
    assert bad.status_code == 401
    assert (await crm.http.get("/clients")).status_code == 401
