"""API keys: shown once, stored hashed, scoped, revocable, last use visible, usable instead
of a bearer token; another agent's key sees nothing of this agent's."""

from __future__ import annotations

import hashlib

from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from sqlalchemy import select

from realtoros_crm.apikeys.models import ApiKey
from realtoros_crm.apikeys.scopes import SCOPES, required_scope
from realtoros_crm.app import build_app
from realtoros_crm.observability import redact_url_key
from realtoros_crm.settings import CrmSettings
from tests.crm.helpers import Crm, add_client, sign_up
from tests.crm.integrations import add_key, bearer
from tests.support.waiting import eventually


async def test_a_key_is_shown_once_and_stored_as_its_hash(crm: Crm) -> None:
    agent = await sign_up(crm.http)
    key = await add_key(crm.http, agent, "clients:read", name="Warehouse export")
    assert key["key"].startswith("rtk_")
    assert key["key"].startswith(key["prefix"])
    listed = (await crm.http.get("/api-keys", headers=agent.headers)).json()
    assert [k["name"] for k in listed] == ["Warehouse export"]
    assert "key" not in listed[0]
    assert key["key"] not in str(listed)
    async with crm.state.sessions() as session:
        stored = await session.scalar(select(ApiKey).where(ApiKey.id == key["id"]))
    assert stored is not None
    assert stored.key_hash == hashlib.sha256(key["key"].encode()).hexdigest()
    assert key["key"] not in repr(stored.__dict__)


async def test_a_key_works_in_place_of_a_bearer_token_and_records_its_last_use(crm: Crm) -> None:
    agent = await sign_up(crm.http)
    client = await add_client(crm.http, agent, name="Jordan Lee")
    key = await add_key(crm.http, agent, "clients:read")
    assert key["last_used_at"] is None
    as_bearer = await crm.http.get("/clients", headers=bearer(key))
    assert as_bearer.status_code == 200, as_bearer.text
    assert [c["id"] for c in as_bearer.json()] == [client["id"]]
    as_header = await crm.http.get(f"/clients/{client['id']}", headers={"X-Api-Key": key["key"]})
    assert as_header.json()["name"] == "Jordan Lee"

    async def last_used() -> str | None:
        keys = (await crm.http.get("/api-keys", headers=agent.headers)).json()
        used: str | None = keys[0]["last_used_at"]
        return used

    await eventually(last_used, what="the key's last use to be recorded")


async def test_a_key_without_the_routes_scope_gets_403(crm: Crm) -> None:
    agent = await sign_up(crm.http)
    reader = bearer(await add_key(crm.http, agent, "clients:read"))
    added = await crm.http.post(
        "/clients", json={"name": "X", "email": "x@example.org"}, headers=reader
    )
    assert added.status_code == 403
    assert "clients:write" in added.json()["detail"]
    assert (await crm.http.get("/tasks", headers=reader)).status_code == 403
    assert (await crm.http.get("/webhooks", headers=reader)).status_code == 403
    # The account and the keys themselves are never open to a key, whatever its scopes.
    for method, path in (("GET", "/me"), ("GET", "/api-keys"), ("POST", "/api-keys")):
        response = await crm.http.request(method, path, headers=reader, json={})
        assert response.status_code == 403, (method, path, response.text)


async def test_a_revoked_key_gets_401(crm: Crm) -> None:
    agent = await sign_up(crm.http)
    key = await add_key(crm.http, agent, "clients:read")
    assert (await crm.http.get("/clients", headers=bearer(key))).status_code == 200
    revoked = await crm.http.delete(f"/api-keys/{key['id']}", headers=agent.headers)
    assert revoked.status_code == 204
    response = await crm.http.get("/clients", headers=bearer(key))
    assert response.status_code == 401
    assert "revoked" in response.json()["detail"]
    listed = (await crm.http.get("/api-keys", headers=agent.headers)).json()
    assert listed[0]["revoked_at"] is not None
    unknown = {"Authorization": "Bearer rtk_not-a-key"}
    assert (await crm.http.get("/clients", headers=unknown)).status_code == 401


async def test_another_agents_key_sees_nothing_of_this_agents(crm: Crm) -> None:
    alice = await sign_up(crm.http)
    bob = await sign_up(crm.http)
    alices = await add_client(crm.http, alice, name="Alice's Client")
    await crm.http.post(
        "/webhooks",
        json={"url": "https://hooks.example.com/a", "event_types": ["client.created"]},
        headers=alice.headers,
    )
    every = ("clients:read", "clients:write", "events:read", "webhooks:manage", "tasks:read")
    bobs = bearer(await add_key(crm.http, bob, *every))
    assert (await crm.http.get("/clients", headers=bobs)).json() == []
    assert (await crm.http.get(f"/clients/{alices['id']}", headers=bobs)).status_code == 404
    timeline = await crm.http.get(f"/clients/{alices['id']}/timeline", headers=bobs)
    assert timeline.status_code == 404
    assert (await crm.http.get("/webhooks", headers=bobs)).json() == []
    assert (await crm.http.get("/tasks", headers=bobs)).json() == []
    gone = await crm.http.delete(
        f"/api-keys/{(await add_key(crm.http, alice, 'clients:read'))['id']}", headers=bob.headers
    )
    assert gone.status_code == 404


async def test_a_key_in_the_url_must_be_a_leads_only_key(crm: Crm) -> None:
    agent = await sign_up(crm.http)
    wide = await add_key(crm.http, agent, "leads:write", "clients:read")
    lead = {"email": "lead@example.org", "name": "Lee Lead"}
    in_url = await crm.http.post(f"/leads?key={wide['key']}", json=lead)
    assert in_url.status_code == 403
    assert "URL" in in_url.json()["detail"]
    form_key = await add_key(crm.http, agent, "leads:write")
    assert (await crm.http.post(f"/leads?key={form_key['key']}", json=lead)).status_code == 202


def test_a_key_in_the_url_never_reaches_a_trace() -> None:
    tracer = TracerProvider().get_tracer("test")
    attributes = {"http.target": "/leads?key=rtk_secret&x=1", "url.query": "key=rtk_secret"}
    with tracer.start_as_current_span("POST /leads", attributes=attributes) as span:
        redact_url_key(span, {"query_string": b"key=rtk_secret&x=1"})
        assert isinstance(span, ReadableSpan)
        assert span.attributes is not None
        assert span.attributes["http.target"] == "/leads?key=REDACTED&x=1"
        assert span.attributes["url.query"] == "key=REDACTED"


KEY_FREE = ("/me", "/auth/", "/api-keys", "/healthz", "/readyz", "/asyncapi", "/unsubscribe")


def test_every_api_route_names_the_scope_a_key_needs(crm_settings: CrmSettings) -> None:
    paths = build_app(crm_settings).openapi()["paths"]  # every included router's routes
    checked = 0
    for path, item in paths.items():
        for method in item:
            scope = required_scope(method, path)
            if path.startswith(KEY_FREE):
                assert scope is None, (method, path)
            else:
                assert scope in SCOPES, (method, path)
                checked += 1
    assert checked > 40
    assert required_scope("GET", "/clients/{client_id}/timeline") == "events:read"


async def test_a_clients_timeline_needs_events_read(crm: Crm) -> None:
    agent = await sign_up(crm.http)
    client = await add_client(crm.http, agent)
    reader = bearer(await add_key(crm.http, agent, "clients:read"))
    timeline = await crm.http.get(f"/clients/{client['id']}/timeline", headers=reader)
    assert timeline.status_code == 403
    assert "events:read" in timeline.json()["detail"]
