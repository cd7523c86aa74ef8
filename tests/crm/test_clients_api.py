"""Clients: create with duplicate warnings, PATCH, stage changes on the timeline and to the
stage hooks, soft delete keeping the email history, restore, bulk update and delete."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from realtoros_crm.clients.stages import StageChange
from realtoros_crm.emails.models import Email
from tests.crm.helpers import Crm, SignedIn, add_client, sign_up


async def _timeline(crm: Crm, who: SignedIn, client_id: str) -> list[dict[str, Any]]:
    response = await crm.http.get(
        f"/clients/{client_id}/timeline", params={"order": "asc"}, headers=who.headers
    )
    assert response.status_code == 200, response.text
    result: list[dict[str, Any]] = response.json()
    return result


async def test_create_warns_of_duplicates_without_merging(crm: Crm) -> None:
    who = await sign_up(crm.http)
    first = await add_client(crm.http, who, email="Jordan@Example.com", phone="(555) 010-0142")
    assert first["duplicates"] == []
    same_email = await add_client(crm.http, who, email="  jordan@example.COM ".strip())
    assert [(d["id"], d["matched_on"]) for d in same_email["duplicates"]] == [
        (first["id"], "email")
    ]
    same_phone = await add_client(crm.http, who, phone="+1 555-010-0142".replace("+1 ", ""))
    assert [d["matched_on"] for d in same_phone["duplicates"]] == ["phone"]
    listed = await crm.http.get("/clients", headers=who.headers)
    assert len(listed.json()) == 3  # warned, not merged
    # Another agent's identical client is not a duplicate (nor visible).
    other = await sign_up(crm.http)
    theirs = await add_client(crm.http, other, email="jordan@example.com")
    assert theirs["duplicates"] == []


async def test_patch_stage_change_goes_on_the_timeline_and_to_the_hooks(crm: Crm) -> None:
    seen: list[StageChange] = []

    async def hook(session: AsyncSession, changes: Sequence[StageChange]) -> None:
        seen.extend(changes)

    crm.state.stage_hooks = [*crm.state.stage_hooks, hook]
    who = await sign_up(crm.http)
    client = await add_client(crm.http, who, notes="Met at the open house", source="Zillow")
    patch = {"stage": "under_contract", "tags": ["buyer"], "notes": "Offer accepted"}
    response = await crm.http.patch(f"/clients/{client['id']}", json=patch, headers=who.headers)
    assert response.status_code == 200, response.text
    assert response.json()["stage"] == "under_contract"
    assert response.json()["tags"] == ["buyer"]
    same = await crm.http.patch(
        f"/clients/{client['id']}", json={"stage": "under_contract"}, headers=who.headers
    )
    assert same.status_code == 200

    summaries = [(a["kind"], a["summary"]) for a in await _timeline(crm, who, client["id"])]
    assert summaries == [
        ("client_created", "Added as a lead (source: Zillow)"),
        ("note_added", "Note: Met at the open house"),
        ("note_added", "Note: Offer accepted"),
        ("tags_changed", "Tags added buyer"),
        ("stage_changed", "Stage changed from lead to under contract"),
    ]
    client_id = uuid.UUID(client["id"])
    assert [(c.client_id, c.old, c.new) for c in seen] == [
        (client_id, None, "lead"),
        (client_id, "lead", "under_contract"),
    ]


async def test_bad_patches_are_422(crm: Crm) -> None:
    who = await sign_up(crm.http)
    client = await add_client(crm.http, who)
    for bad in ({"stage": "married"}, {"name": None}, {"timezone": "Nowhere/Land"}, {"tags": [""]}):
        response = await crm.http.patch(f"/clients/{client['id']}", json=bad, headers=who.headers)
        assert response.status_code == 422, (bad, response.text)


async def test_soft_delete_keeps_email_history_and_restore_brings_it_back(crm: Crm) -> None:
    who = await sign_up(crm.http)
    client = await add_client(crm.http, who)
    async with crm.state.sessions() as session:
        emails_before = (
            await session.scalars(select(Email).where(Email.client_id == uuid.UUID(client["id"])))
        ).all()
    gone = await crm.http.delete(f"/clients/{client['id']}", headers=who.headers)
    assert gone.status_code == 204
    assert (await crm.http.get(f"/clients/{client['id']}", headers=who.headers)).status_code == 404
    assert (await crm.http.get("/clients", headers=who.headers)).json() == []
    trash = await crm.http.get("/clients", params={"deleted": "true"}, headers=who.headers)
    assert [c["id"] for c in trash.json()] == [client["id"]]
    again = await crm.http.delete(f"/clients/{client['id']}", headers=who.headers)
    assert again.status_code == 404

    restored = await crm.http.post(f"/clients/{client['id']}/restore", headers=who.headers)
    assert restored.status_code == 200, restored.text
    assert restored.json()["deleted_at"] is None
    kinds = [a["kind"] for a in await _timeline(crm, who, client["id"])]
    assert kinds == ["client_created", "client_deleted", "client_restored"]
    async with crm.state.sessions() as session:
        emails_after = (
            await session.scalars(select(Email).where(Email.client_id == uuid.UUID(client["id"])))
        ).all()
    assert len(emails_after) == len(emails_before)


async def test_bulk_stage_tags_and_delete(crm: Crm) -> None:
    who = await sign_up(crm.http)
    clients = [await add_client(crm.http, who, tags=["cold"]) for _ in range(3)]
    ids = [c["id"] for c in clients]
    stranger = str(uuid.uuid4())
    body = {"ids": [*ids[:2], stranger], "stage": "negotiating", "add_tags": ["hot"]}
    body["remove_tags"] = ["cold"]
    result = await crm.http.post("/clients/bulk-update", json=body, headers=who.headers)
    assert result.status_code == 200, result.text
    assert result.json() == {"changed": 2, "not_found": [stranger]}
    for client_id in ids[:2]:
        read = (await crm.http.get(f"/clients/{client_id}", headers=who.headers)).json()
        assert (read["stage"], read["tags"]) == ("negotiating", ["hot"])
        kinds = [a["kind"] for a in await _timeline(crm, who, client_id)]
        assert kinds == ["client_created", "tags_changed", "stage_changed"]
    untouched = (await crm.http.get(f"/clients/{ids[2]}", headers=who.headers)).json()
    assert (untouched["stage"], untouched["tags"]) == ("lead", ["cold"])

    nothing = await crm.http.post("/clients/bulk-update", json={"ids": ids}, headers=who.headers)
    assert nothing.status_code == 422
    deleted = await crm.http.post(
        "/clients/bulk-delete", json={"ids": ids[1:]}, headers=who.headers
    )
    assert deleted.json() == {"changed": 2, "not_found": []}
    remaining = (await crm.http.get("/clients", headers=who.headers)).json()
    assert [c["id"] for c in remaining] == ids[:1]


async def test_marking_unsubscribed_by_the_agent(crm: Crm) -> None:
    who = await sign_up(crm.http)
    client = await add_client(crm.http, who)
    response = await crm.http.patch(
        f"/clients/{client['id']}", json={"unsubscribed": True}, headers=who.headers
    )
    assert response.json()["unsubscribed"] is True
    timeline = await _timeline(crm, who, client["id"])
    assert timeline[-1]["summary"] == "Marked unsubscribed by the agent."
