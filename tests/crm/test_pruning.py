"""Tables that do not grow forever: published outbox rows, inbox rows past the
de-duplication horizon and expired tokens are deleted on a schedule; what may still be
needed stays. With many old rows present the relay's and the consumers' lookups still
touch a handful of pages (their indexes skip the old rows), which is why old rows are
deleted rather than partitioned away (bench/prunebench.py measures the times)."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError
from sqlalchemy import text

from realtoros_contracts import EVENT_MAX_AGE
from realtoros_crm.agents.models import Agent
from realtoros_crm.apikeys.models import ClientLeadId
from realtoros_crm.clients.models import Client
from realtoros_crm.db import Sessions, build_engine, build_sessions
from realtoros_crm.messaging.pruning import INBOX_HORIZON, Horizons, Pruner
from realtoros_crm.settings import CrmSettings
from realtoros_crm.webhooks.models import WebhookDelivery, WebhookEndpoint

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
OLD_ROWS = 50_000

FILL = """
INSERT INTO outbox (event_id, subject, stream, event_type, body, headers, created_at,
                    published_at)
SELECT 'old-' || n, 's', 'S', 't', 'x', '{}', :old, :old FROM generate_series(1, :n) n;
INSERT INTO inbox (consumer, event_id, processed_at)
SELECT 'crm-x', 'old-' || n, :old FROM generate_series(1, :n) n;
"""


@pytest.fixture
async def sessions(crm_settings: CrmSettings) -> AsyncIterator[Sessions]:
    engine = build_engine(crm_settings.database_url)
    yield build_sessions(engine)
    await engine.dispose()


async def execute(sessions: Sessions, sql: str, **params: object) -> None:
    async with sessions() as session, session.begin():
        for statement in filter(str.strip, sql.split(";")):
            await session.execute(text(statement), params)


async def fill(sessions: Sessions) -> None:
    """OLD_ROWS old published outbox and inbox rows, and rows that must stay: recent
    ones, and an old outbox row never published."""
    old = NOW - INBOX_HORIZON - timedelta(days=1)
    await execute(sessions, FILL, old=old, n=OLD_ROWS)
    await execute(
        sessions,
        "INSERT INTO outbox (event_id, subject, stream, event_type, body, headers, created_at,"
        " published_at) VALUES ('unpublished', 's', 'S', 't', 'x', '{}', :old, NULL),"
        " ('recent', 's', 'S', 't', 'x', '{}', :now, :now);"
        "INSERT INTO inbox (consumer, event_id, processed_at) VALUES ('crm-x', 'recent', :now)",
        old=old,
        now=NOW - timedelta(hours=1),
    )
    await execute(sessions, "ANALYZE outbox; ANALYZE inbox")


async def pages_read(sessions: Sessions, sql: str) -> int:
    """Buffers the statement touches (EXPLAIN ANALYZE, BUFFERS): a count of work that
    does not depend on the machine's speed."""
    async with sessions() as session, session.begin():
        plan = (
            await session.execute(text(f"EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) {sql}"))
        ).scalar_one()
    top = (json.loads(plan) if isinstance(plan, str) else plan)[0]["Plan"]
    return int(top.get("Shared Hit Blocks", 0)) + int(top.get("Shared Read Blocks", 0))


RELAY = (
    "SELECT id FROM outbox WHERE published_at IS NULL ORDER BY id LIMIT 500 FOR UPDATE SKIP LOCKED"
)
INBOX = "SELECT 1 FROM inbox WHERE consumer = 'crm-x' AND event_id = 'old-12345'"


async def test_the_hot_lookups_stay_small_with_many_old_rows(sessions: Sessions) -> None:
    await fill(sessions)
    assert await pages_read(sessions, RELAY) < 20, "the relay reads the unpublished index"
    assert await pages_read(sessions, INBOX) < 10, "a duplicate check is a key lookup"


async def test_pruning_deletes_what_no_longer_matters_and_keeps_the_rest(
    sessions: Sessions,
) -> None:
    await fill(sessions)
    pruner = Pruner(sessions, lambda: NOW, horizons=Horizons(), batch_size=7_000)
    deleted = await pruner.prune()
    assert deleted["outbox"] == OLD_ROWS
    assert deleted["inbox"] == OLD_ROWS
    async with sessions() as session:
        outbox = (await session.execute(text("SELECT event_id FROM outbox ORDER BY id"))).scalars()
        assert list(outbox) == ["unpublished", "recent"]
        inbox = (await session.execute(text("SELECT event_id FROM inbox"))).scalars()
        assert list(inbox) == ["recent"]
    assert (await pruner.prune())["outbox"] == 0, "nothing left to delete"


def test_the_inbox_outlives_every_redelivery() -> None:
    assert timedelta(seconds=EVENT_MAX_AGE) < INBOX_HORIZON


async def test_old_webhook_deliveries_and_deleted_clients_lead_ids_go_the_rest_stays(
    sessions: Sessions,
) -> None:
    """Finished deliveries past the horizon go (a pending one never, however old; a replay
    delivered recently stays); lead ids go only with a client deleted past the horizon."""
    agent = uuid.uuid4()
    old = NOW - timedelta(days=31)
    recent = NOW - timedelta(days=2)
    async with sessions() as session, session.begin():
        session.add(Agent(id=agent, email=f"{agent}@example.com", name="Ada"))
        await session.flush()
        endpoint = WebhookEndpoint(
            agent_id=agent, url="https://hooks.example.com/x", description="", enabled=True,
            event_types=["client.created"], scopes=[], secret="whsec_x", created_at=old,
            updated_at=old,
        )  # fmt: skip
        session.add(endpoint)
        clients = {
            name: Client(
                agent_id=agent,
                name=name,
                email=f"{name}@example.org",
                created_at=old,
                updated_at=old,
                deleted_at=gone,
            )
            for name, gone in (("live", None), ("gone-long-ago", old), ("gone-lately", recent))
        }
        session.add_all(clients.values())
        await session.flush()
        deliveries = {
            "delivered-old": ("delivered", old, old),
            "failed-old": ("failed", old, old),
            "pending-old": ("pending", old, None),
            "replayed-lately": ("delivered", old, recent),
            "delivered-lately": ("delivered", recent, recent),
        }
        for event_id, (status, created, delivered) in deliveries.items():
            session.add(
                WebhookDelivery(
                    endpoint_id=endpoint.id, agent_id=agent, event_id=event_id,
                    event_type="client.created", payload=b"{}", status=status, attempts=1,
                    next_attempt_at=created, last_attempt_at=delivered or created,
                    delivered_at=delivered if status == "delivered" else None,
                    created_at=created,
                )
            )  # fmt: skip
        for name, client in clients.items():
            session.add(
                ClientLeadId(
                    agent_id=agent, source="zillow", lead_id=name, client_id=client.id,
                    created_at=old,
                )
            )  # fmt: skip
    deleted = await Pruner(sessions, lambda: NOW, batch_size=2).prune()
    assert (deleted["webhook_deliveries"], deleted["client_lead_ids"]) == (2, 1)
    async with sessions() as session:
        kept = (await session.execute(text("SELECT event_id FROM webhook_deliveries"))).scalars()
        assert sorted(kept) == ["delivered-lately", "pending-old", "replayed-lately"]
        ids = (await session.execute(text("SELECT lead_id FROM client_lead_ids"))).scalars()
        assert sorted(ids) == ["gone-lately", "live"]


def test_webhook_deliveries_outlive_the_inbox_horizon() -> None:
    """The unique (endpoint, event) key stops a redelivered event from queuing a second
    delivery only while the delivery exists: it must outlast any redelivery."""
    assert Horizons().webhook_deliveries > INBOX_HORIZON
    with pytest.raises(ValidationError, match="prune_webhook_deliveries_after_days"):
        CrmSettings.model_validate(
            {"database_url": "postgresql://x@h/d", "jwt_secret": "s" * 32,
             "prune_webhook_deliveries_after_days": 8}
        )  # fmt: skip
