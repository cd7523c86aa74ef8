"""The unsubscribe flow end to end in the CRM: a GET (what link scanners do) changes
nothing; the POST — the page's button or a mail client's RFC 8058 one-click — unsubscribes
and emits exactly one ClientUnsubscribed through the outbox; the token is an HMAC."""

from __future__ import annotations

import uuid

import pytest
from nats.js import JetStreamContext
from sqlalchemy import select

from realtoros_contracts import ClientUnsubscribed, decode
from realtoros_crm.messaging.models import OutboxMessage
from realtoros_crm.unsubscribe_tokens import sign_unsubscribe, verify_unsubscribe
from tests.crm.helpers import Crm, add_client, sign_up
from tests.support.streams import stream_messages
from tests.support.waiting import eventually


async def unsubscribed_events(crm: Crm, js: JetStreamContext) -> list[ClientUnsubscribed]:
    ns = crm.state.bus.ns
    if not (await js.stream_info(ns.stream_name("crm"))).state.messages:
        return []
    found = await stream_messages(js, ns.stream_name("crm"), ns.subject(ClientUnsubscribed))
    return [decode(ClientUnsubscribed, dict(m.headers or {}), m.data or b"")[1] for m in found]


async def _token_for_new_client(crm: Crm) -> tuple[str, dict[str, object]]:
    who = await sign_up(crm.http)
    client = await add_client(crm.http, who, email=f"c{uuid.uuid4().hex[:8]}@example.com")
    token = sign_unsubscribe(uuid.UUID(str(client["id"])), crm.state.settings.unsubscribe_key())
    return token, client


@pytest.mark.parametrize(
    ("body", "source"),
    [(b"List-Unsubscribe=One-Click", "one-click"), (b"", "link")],
)
async def test_post_unsubscribes_once_and_emits_one_event(
    crm: Crm, js: JetStreamContext, body: bytes, source: str
) -> None:
    token, client = await _token_for_new_client(crm)
    form = {"content-type": "application/x-www-form-urlencoded"}
    for _ in range(3):  # a scanner, a preview, the human: GETs change nothing
        page = await crm.http.get(f"/unsubscribe/{token}")
        assert page.status_code == 200
        assert "<button" in page.text
    assert await unsubscribed_events(crm, js) == []

    first = await crm.http.post(f"/unsubscribe/{token}", content=body, headers=form)
    second = await crm.http.post(f"/unsubscribe/{token}", content=body, headers=form)
    assert (first.status_code, second.status_code) == (200, 200)

    async def relayed() -> list[ClientUnsubscribed]:
        return await unsubscribed_events(crm, js)

    [event] = await eventually(relayed, what="ClientUnsubscribed to be relayed")
    assert event.client_id == uuid.UUID(str(client["id"]))
    assert event.email == client["email"]
    assert event.source == source
    # The second POST wrote nothing to the outbox (JetStream's de-duplication would hide
    # a second row with the same id, so count the rows themselves).
    async with crm.state.sessions() as session:
        rows = await session.scalars(
            select(OutboxMessage).where(OutboxMessage.event_type == ClientUnsubscribed.TYPE)
        )
        assert len(rows.all()) == 1


async def test_forged_token_neither_unsubscribes_nor_emits(crm: Crm, js: JetStreamContext) -> None:
    token, _ = await _token_for_new_client(crm)
    client_hex, _, signature = token.partition(".")
    flipped = signature[:-1] + ("A" if signature[-1] != "A" else "B")
    for bad in (f"{client_hex}.{flipped}", client_hex, f"{client_hex}."):
        response = await crm.http.post(f"/unsubscribe/{bad}", content=b"List-Unsubscribe=One-Click")
        assert response.status_code == 404
    assert await unsubscribed_events(crm, js) == []


def test_token_is_an_hmac_with_128_bits_of_signature() -> None:
    key = b"k" * 32
    client_id = uuid.uuid4()
    token = sign_unsubscribe(client_id, key)
    _, _, signature = token.partition(".")
    assert len(signature) >= 22  # 16 bytes of HMAC-SHA256, base64url: not guessable
    assert verify_unsubscribe(token, key) == client_id
    assert verify_unsubscribe(token, b"x" * 32) is None
    assert verify_unsubscribe(sign_unsubscribe(uuid.uuid4(), key), key) != client_id
