"""The signed unsubscribe link: a GET only asks, the POST unsubscribes, a forged token is
refused, and the client's pending follow-ups are skipped from then on."""

from __future__ import annotations

import json
import uuid

from sqlalchemy import select

from realtoros_contracts import ClientUnsubscribed
from realtoros_crm.messaging.models import OutboxMessage
from realtoros_crm.unsubscribe_tokens import sign_unsubscribe
from realtoros_runtime.publisher import EventPublisher
from tests.crm.helpers import Crm, add_client, add_task, publish_tick, sign_up, wait_task_status


async def test_unsubscribing_stops_follow_ups(crm: Crm, publisher: EventPublisher) -> None:
    who = await sign_up(crm.http)
    client = await add_client(crm.http, who)
    token = sign_unsubscribe(uuid.UUID(client["id"]), crm.state.settings.unsubscribe_key())

    page = await crm.http.get(f"/unsubscribe/{token}")
    assert page.status_code == 200
    assert '<form method="post"' in page.text
    read = await crm.http.get(f"/clients/{client['id']}", headers=who.headers)
    assert read.json()["unsubscribed"] is False

    done = await crm.http.post(f"/unsubscribe/{token}", content=b"List-Unsubscribe=One-Click")
    assert done.status_code == 200
    again = await crm.http.post(f"/unsubscribe/{token}")
    assert again.status_code == 200
    read = await crm.http.get(f"/clients/{client['id']}", headers=who.headers)
    assert read.json()["unsubscribed"] is True
    timeline = await crm.http.get(f"/clients/{client['id']}/timeline", headers=who.headers)
    kinds = [a["kind"] for a in timeline.json() if a["kind"] != "client_created"]
    assert kinds == ["unsubscribed"]

    task = await add_task(crm.http, who, client["id"])
    await publish_tick(publisher)
    skipped = await wait_task_status(crm.http, who, task["id"], "skipped")
    assert skipped["failure_reason"] == "client unsubscribed"


async def test_forged_or_foreign_tokens_are_refused(crm: Crm) -> None:
    who = await sign_up(crm.http)
    client = await add_client(crm.http, who)
    forged = sign_unsubscribe(uuid.UUID(client["id"]), b"another key" * 4)
    for token in (forged, "garbage", f"{uuid.uuid4().hex}.abc"):
        assert (await crm.http.post(f"/unsubscribe/{token}")).status_code == 404
        assert (await crm.http.get(f"/unsubscribe/{token}")).status_code == 404
    read = await crm.http.get(f"/clients/{client['id']}", headers=who.headers)
    assert read.json()["unsubscribed"] is False


async def test_an_opt_out_always_succeeds_however_often_the_agent_resubscribes(crm: Crm) -> None:
    """Unsubscribe → re-subscribe → unsubscribe (by link, then by the agent, then by the
    link again): every opt-out is recorded, each as its own ClientUnsubscribed event."""
    who = await sign_up(crm.http)
    client = await add_client(crm.http, who)
    token = sign_unsubscribe(uuid.UUID(client["id"]), crm.state.settings.unsubscribe_key())
    path = f"/clients/{client['id']}"

    for opt_out in ("link", "agent", "one-click"):
        if opt_out == "agent":
            done = await crm.http.patch(path, json={"unsubscribed": True}, headers=who.headers)
        else:
            body = b"List-Unsubscribe=One-Click" if opt_out == "one-click" else b""
            done = await crm.http.post(f"/unsubscribe/{token}", content=body)
        assert done.status_code == 200, done.text
        assert (await crm.http.get(path, headers=who.headers)).json()["unsubscribed"] is True
        back = await crm.http.patch(path, json={"unsubscribed": False}, headers=who.headers)
        assert back.status_code == 200, back.text

    async with crm.state.sessions() as session:
        rows = (
            await session.scalars(
                select(OutboxMessage).where(OutboxMessage.event_type == ClientUnsubscribed.TYPE)
            )
        ).all()
    sources = sorted(json.loads(row.body)["source"] for row in rows)
    assert sources == ["agent", "link", "one-click"]
    assert len({row.event_id for row in rows}) == 3
