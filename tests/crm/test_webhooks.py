"""Outbound webhooks against real HTTP receivers started by the tests: every delivery's
signature verifies with the ``standardwebhooks`` library; payloads carry the client's
contact details only with the clients:read scope; a receiver that fails for a while gets
every event once (by ``webhook-id``); one that always fails is disabled and the agent told;
one delivery can be replayed."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest

from realtoros_contracts import EmailBounced
from realtoros_crm.settings import CrmSettings
from realtoros_runtime.publisher import EventPublisher
from tests.crm.helpers import Crm, SignedIn, add_client, add_task, sign_up
from tests.crm.integrations import Receiver, receiving, subscribe
from tests.crm.running import running_crm
from tests.crm.test_replies import reply, sent_task
from tests.support.waiting import eventually

FAST_RETRIES: dict[str, Any] = {
    "webhook_allow_loopback": True,
    "webhook_retry_base_seconds": 0.05,
    "webhook_retry_factor": 2,
    "webhook_retry_max_delay_seconds": 0.4,
    "webhook_max_attempts": 40,
    "webhook_poll_seconds": 0.05,
}


@pytest.fixture
async def hooks_crm(crm_settings: CrmSettings) -> AsyncIterator[Crm]:
    async with running_crm(crm_settings, **FAST_RETRIES) as crm:
        yield crm


async def _endpoint(crm: Crm, who: SignedIn, endpoint_id: str) -> dict[str, Any]:
    endpoint: dict[str, Any] = (
        await crm.http.get(f"/webhooks/{endpoint_id}", headers=who.headers)
    ).json()
    return endpoint


async def _deliveries(crm: Crm, who: SignedIn, endpoint_id: str) -> list[dict[str, Any]]:
    response = await crm.http.get(f"/webhooks/{endpoint_id}/deliveries", headers=who.headers)
    deliveries: list[dict[str, Any]] = response.json()
    return deliveries


async def test_deliveries_are_signed_and_carry_what_the_scope_allows(hooks_crm: Crm) -> None:
    crm = hooks_crm
    agent = await sign_up(crm.http)
    async with receiving(Receiver()) as ids_only, receiving(Receiver()) as with_contact:
        await subscribe(crm.http, agent, ids_only, "client.created", "client.updated")
        await subscribe(crm.http, agent, with_contact, "client.created", scopes=["clients:read"])
        client = await add_client(crm.http, agent, name="Jordan Lee", phone="555 010 0142")
        await crm.http.patch(
            f"/clients/{client['id']}", json={"stage": "prospect"}, headers=agent.headers
        )
        await eventually(lambda: _count(ids_only, 2), timeout=20, what="two webhooks")
        await eventually(lambda: _count(with_contact, 1), timeout=20, what="one webhook")
    created, updated = sorted((p for _, p in ids_only.accepted), key=lambda p: p["type"])
    assert created["type"] == "client.created"
    assert created["data"]["client_id"] == client["id"]
    assert "client" not in created["data"]
    assert "Jordan" not in str(ids_only.accepted)
    assert updated["data"]["changed"] == ["stage"]
    assert updated["data"]["stage"] == "prospect"
    [(_, full)] = with_contact.accepted
    assert full["data"]["client"]["name"] == "Jordan Lee"
    assert full["data"]["client"]["phone"] == "555 010 0142"
    assert ids_only.unverified == with_contact.unverified == []


async def _count(receiver: Receiver, n: int) -> bool:
    return len(receiver.accepted) >= n


async def test_a_receiver_that_recovers_gets_every_event_once(hooks_crm: Crm) -> None:
    crm = hooks_crm
    agent = await sign_up(crm.http)
    async with receiving(Receiver(fail_first=8)) as receiver:
        endpoint = await subscribe(crm.http, agent, receiver, "client.created")
        clients = [await add_client(crm.http, agent, name=f"Client {n}") for n in range(5)]
        await eventually(lambda: _count(receiver, 5), timeout=30, what="five webhooks")

        async def recorded() -> list[dict[str, Any]] | None:
            # The CRM records a delivery after the receiver has answered: wait for it.
            found = await _deliveries(crm, agent, endpoint["id"])
            return found if {d["status"] for d in found} == {"delivered"} else None

        deliveries = await eventually(recorded, timeout=30, what="five deliveries recorded")
    assert receiver.requests > 5  # it did fail first
    assert sorted(receiver.ids()) == sorted(d["webhook_id"] for d in deliveries)
    assert len(set(receiver.ids())) == len(receiver.ids()) == 5
    got = sorted(payload["data"]["client_id"] for _, payload in receiver.accepted)
    assert got == sorted(c["id"] for c in clients)
    assert {d["status"] for d in deliveries} == {"delivered"}
    assert max(d["attempts"] for d in deliveries) > 1
    assert (await _endpoint(crm, agent, endpoint["id"]))["failing_since"] is None


async def test_a_receiver_that_always_fails_is_disabled_and_the_agent_told(
    crm_settings: CrmSettings,
) -> None:
    async with (
        running_crm(crm_settings, **FAST_RETRIES, webhook_disable_after_seconds=0.5) as crm,
        receiving(Receiver(always_fail=True)) as receiver,
    ):
        agent = await sign_up(crm.http)
        endpoint = await subscribe(crm.http, agent, receiver, "client.created")
        await add_client(crm.http, agent)

        async def disabled() -> dict[str, Any] | None:
            seen = await _endpoint(crm, agent, endpoint["id"])
            return seen if not seen["enabled"] else None

        seen = await eventually(disabled, timeout=20, what="the endpoint to be disabled")
        assert "HTTP 503" in seen["disabled_reason"]
        [delivery] = await _deliveries(crm, agent, endpoint["id"])
        assert delivery["status"] == "pending"
        assert delivery["last_status_code"] == 503
        requests = receiver.requests
        await add_client(crm.http, agent)  # a disabled endpoint is not queued for
        assert len(await _deliveries(crm, agent, endpoint["id"])) == 1
        receiver.always_fail = False
        enabled = await crm.http.patch(
            f"/webhooks/{endpoint['id']}", json={"enabled": True}, headers=agent.headers
        )
        assert enabled.json()["disabled_reason"] is None
        await eventually(lambda: _count(receiver, 1), timeout=20, what="the waiting delivery")
        assert receiver.requests > requests


async def test_one_delivery_can_be_replayed_with_its_webhook_id(hooks_crm: Crm) -> None:
    crm = hooks_crm
    agent = await sign_up(crm.http)
    async with receiving(Receiver()) as receiver:
        endpoint = await subscribe(crm.http, agent, receiver, "client.created")
        await add_client(crm.http, agent)
        await eventually(lambda: _count(receiver, 1), timeout=20, what="the webhook")
        [delivery] = await _deliveries(crm, agent, endpoint["id"])
        replay = f"/webhooks/{endpoint['id']}/deliveries/{delivery['id']}/replay"
        assert (await crm.http.post(replay, headers=agent.headers)).status_code == 202
        await eventually(lambda: _count(receiver, 2), timeout=20, what="the replay")
    assert receiver.ids() == [delivery["webhook_id"]] * 2
    assert receiver.accepted[0][1] == receiver.accepted[1][1]


async def test_the_agents_endpoints_hear_only_the_agents_events(hooks_crm: Crm) -> None:
    crm = hooks_crm
    alice, bob = await sign_up(crm.http), await sign_up(crm.http)
    async with receiving(Receiver()) as receiver:
        endpoint = await subscribe(crm.http, alice, receiver, "client.created")
        first = await add_client(crm.http, alice)
        await add_client(crm.http, bob, name="Bob's Client")
        last = await add_client(crm.http, alice)  # its event is consumed after Bob's
        await eventually(lambda: _count(receiver, 2), timeout=20, what="alice's webhooks")
        logged = await _deliveries(crm, alice, endpoint["id"])
    got = sorted(p["data"]["client_id"] for _, p in receiver.accepted)
    assert got == sorted([first["id"], last["id"]])
    assert len(logged) == 2
    assert (
        await crm.http.get(f"/webhooks/{endpoint['id']}", headers=bob.headers)
    ).status_code == 404


async def test_the_mailers_and_the_crms_events_become_webhooks(
    hooks_crm: Crm, publisher: EventPublisher
) -> None:
    crm = hooks_crm
    agent = await sign_up(crm.http)
    client = await add_client(crm.http, agent, name="Jordan Lee", email="jordan@example.com")
    async with receiving(Receiver()) as receiver:
        await subscribe(crm.http, agent, receiver, "email.bounced", "task.completed")
        bounce = EmailBounced(
            email_id=uuid.uuid4(),
            task_id=uuid.uuid4(),
            agent_id=uuid.UUID(agent.agent["id"]),
            client_id=uuid.UUID(client["id"]),
            provider_message_id="0100018c-abc",
            occurred_at=datetime.now(UTC),
            bounce_type="permanent",
            recipients=["jordan@example.com"],
            diagnostic="smtp; 550 5.1.1 <jordan@example.com> user unknown",
        )
        await publisher.publish(bounce, event_id=f"ses:{uuid.uuid4()}")
        task = await add_task(crm.http, agent, client["id"], task_type="call", purpose="Call")
        done = await crm.http.post(f"/tasks/{task['id']}/complete", headers=agent.headers)
        assert done.status_code == 200, done.text
        await eventually(lambda: _count(receiver, 2), timeout=20, what="two webhooks")
    by_type = {payload["type"]: payload["data"] for _, payload in receiver.accepted}
    assert by_type["email.bounced"]["bounce_type"] == "permanent"
    assert by_type["email.bounced"]["email_id"] == str(bounce.email_id)
    assert "jordan@example.com" not in str(receiver.accepted)  # no clients:read scope
    assert by_type["task.completed"]["task_id"] == task["id"]
    assert by_type["task.completed"]["task_type"] == "call"


async def test_a_recorded_reply_becomes_a_signed_client_replied_webhook(
    hooks_crm: Crm, publisher: EventPublisher
) -> None:
    crm = hooks_crm
    agent = await sign_up(crm.http)
    async with receiving(Receiver()) as ids_only, receiving(Receiver()) as with_contact:
        await subscribe(crm.http, agent, ids_only, "client.replied")
        await subscribe(crm.http, agent, with_contact, "client.replied", scopes=["clients:read"])
        _, task = await sent_task(crm, publisher, agent)
        long_text = "Thursday at 4 works for me. " + "x" * 5000
        await publisher.publish(reply(task, text=long_text), event_id=f"reply:{uuid.uuid4().hex}")
        await eventually(lambda: _count(ids_only, 1), timeout=30, what="the ids-only webhook")
        await eventually(lambda: _count(with_contact, 1), timeout=30, what="the full webhook")
    [(webhook_id, bare)] = ids_only.accepted
    [(_, full)] = with_contact.accepted
    assert ids_only.unverified == with_contact.unverified == []  # signatures checked
    assert webhook_id
    assert bare["type"] == full["type"] == "client.replied"
    assert bare["data"]["client_id"] == task["client_id"]
    assert bare["data"]["email_id"] == task["email"]["id"]
    assert bare["data"]["unsubscribe_requested"] is False
    assert "reply" not in bare["data"]
    assert "client" not in bare["data"]
    assert "Thursday" not in str(bare)  # no clients:read scope: no text
    assert full["data"]["reply"]["subject"] == "Re: Checking in"
    assert full["data"]["reply"]["text"].startswith("Thursday at 4 works for me.")
    assert len(full["data"]["reply"]["text"]) == 2000  # size-limited
    assert full["data"]["client"]["name"] == "Carla Client"
