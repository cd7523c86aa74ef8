"""The Integrations page: an API key is shown once and works on the API, then is revoked;
a webhook endpoint is subscribed, its delivery log lists what was sent and replays one;
an endpoint the dispatcher disabled is a notice on the dashboard."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import httpx
import pytest
from nats.aio.client import Client as NATS
from sqlalchemy import update

from realtoros_contracts import Namespace
from realtoros_crm.app import build_app
from realtoros_crm.webhooks.models import WebhookEndpoint
from tests.crm.integrations import Receiver, receiving
from tests.support.waiting import eventually
from tests.web.conftest import settings_for
from tests.web.support import WebClient, csrf_of


@pytest.fixture
async def web_hooks(
    database_url: str, nats_url: str, namespace: Namespace, nats_client: NATS
) -> AsyncIterator[WebClient]:
    settings = settings_for(
        database_url, nats_url, namespace, webhook_allow_loopback="true", webhook_poll_seconds="0.1"
    )
    app = build_app(settings)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://crm.test") as http,
    ):
        yield WebClient(app, http)


async def test_a_key_is_shown_once_works_and_is_revoked(web: WebClient) -> None:
    await web.sign_up("dana@harbor.example")
    form = {"name": "Website form", "scopes": ["leads:write", "clients:read"]}
    created = await web.submit("/app/integrations", "/app/integrations/keys", form)
    assert created.status_code == 201, created.text[-1500:]
    key = re.search(r'data-testid="new-key">(rtk_[^<]+)<', created.text)
    assert key is not None
    assert key.group(1) not in (await web.http.get("/app/integrations")).text
    api = {"Authorization": f"Bearer {key.group(1)}"}
    assert (await web.http.get("/clients", headers=api)).status_code == 200
    page = (await web.http.get("/app/integrations")).text
    key_id = re.search(r"/app/integrations/keys/([0-9a-f-]+)/revoke", page)
    assert key_id is not None
    revoked = await web.http.post(
        f"/app/integrations/keys/{key_id.group(1)}/revoke", data={"csrf": csrf_of(page)}
    )
    assert revoked.status_code == 303
    assert (await web.http.get("/clients", headers=api)).status_code == 401


async def test_a_key_without_scopes_is_explained(web: WebClient) -> None:
    await web.sign_up("dana@harbor.example")
    refused = await web.submit("/app/integrations", "/app/integrations/keys", {"name": "x"})
    assert refused.status_code == 422
    assert "at least 1 item" in refused.text


async def test_a_webhook_is_subscribed_its_log_shown_and_a_delivery_replayed(
    web_hooks: WebClient,
) -> None:
    web = web_hooks
    await web.sign_up("dana@harbor.example")
    async with receiving(Receiver()) as receiver:
        form = {"url": receiver.url, "event_types": ["client.created"]}
        created = await web.submit("/app/integrations", "/app/integrations/webhooks", form)
        assert created.status_code == 201, created.text[-1500:]
        secret = re.search(r'data-testid="new-secret">(whsec_[^<]+)<', created.text)
        assert secret is not None
        receiver.secret = secret.group(1)
        client = {"name": "Jordan Lee", "email": "jordan@example.com", "stage": "lead"}
        assert (await web.add_client(client)).status_code == 303
        await eventually(lambda: _received(receiver, 1), timeout=20, what="the webhook")
        listing = (await web.http.get("/app/integrations")).text
        endpoint = re.search(r"/app/integrations/webhooks/([0-9a-f-]{36})", listing)
        assert endpoint is not None
        log_page = (await web.http.get(endpoint.group(0))).text
        assert "client.created" in log_page
        assert receiver.ids()[0] in log_page
        replay = re.search(r'action="(/app/integrations/webhooks/[^"]+/replay)"', log_page)
        assert replay is not None
        sent = await web.http.post(replay.group(1), data={"csrf": csrf_of(log_page)})
        assert sent.status_code == 303
        await eventually(lambda: _received(receiver, 2), timeout=20, what="the replay")
    assert receiver.ids()[0] == receiver.ids()[1]


async def _received(receiver: Receiver, n: int) -> bool:
    return len(receiver.accepted) >= n


async def test_a_disabled_endpoint_is_a_notice_on_the_dashboard(web: WebClient) -> None:
    await web.sign_up("dana@harbor.example")
    form = {"url": "https://hooks.example.com/in", "event_types": ["email.bounced"]}
    assert (
        await web.submit("/app/integrations", "/app/integrations/webhooks", form)
    ).status_code == 201
    assert "webhook-disabled" not in (await web.http.get("/app")).text
    async with web.app.state.crm.sessions() as session, session.begin():
        await session.execute(
            update(WebhookEndpoint).values(
                enabled=False,
                disabled_at=web.app.state.crm.clock(),
                disabled_reason="Disabled automatically: every delivery has failed since …",
            )
        )
    dashboard = (await web.http.get("/app")).text
    assert 'data-notice="webhook-disabled"' in dashboard
    assert "https://hooks.example.com/in" in dashboard
