"""The retry schedule and the SSRF guard, with the dispatcher driven directly: an injected
clock walks the default schedule (no waiting), and requests go to real local receivers."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from realtoros_contracts import ClientCreated
from realtoros_crm.agents.models import Agent
from realtoros_crm.db import Sessions, build_engine, build_sessions
from realtoros_crm.settings import CrmSettings
from realtoros_crm.webhooks.catalogue import TYPES_BY_NAME
from realtoros_crm.webhooks.dispatcher import RetryPolicy, WebhookDispatcher
from realtoros_crm.webhooks.fanout import WebhookFanout
from realtoros_crm.webhooks.guard import BadWebhookUrl, check_url
from realtoros_crm.webhooks.models import WebhookDelivery, WebhookEndpoint
from realtoros_crm.webhooks.schemas import EndpointCreate
from realtoros_crm.webhooks.sender import WebhookSender
from realtoros_crm.webhooks.service import create_endpoint
from tests.crm.integrations import Receiver, receiving

START = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


class Clock:
    def __init__(self, start: datetime = START) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
async def sessions(crm_settings: CrmSettings) -> AsyncIterator[Sessions]:
    engine = build_engine(crm_settings.database_url)
    yield build_sessions(engine)
    await engine.dispose()


async def _setup(
    sessions: Sessions, clock: Clock, url: str, receiver: Receiver
) -> tuple[uuid.UUID, uuid.UUID]:
    """An agent with one endpoint, and one queued client.created delivery."""
    agent_id = uuid.uuid4()
    async with sessions() as session, session.begin():
        session.add(Agent(id=agent_id, email=f"{agent_id}@example.com", name="Ada"))
        await session.flush()
        data = EndpointCreate(url=url, event_types=["client.created"])
        endpoint = await create_endpoint(
            session, agent_id, data, allow_loopback=True, key_scopes=None, now=clock()
        )
    receiver.secret = endpoint.secret
    await _queue(sessions, clock, agent_id, "ev-1")
    return agent_id, endpoint.id


@asynccontextmanager
async def _dispatching(
    sessions: Sessions, clock: Clock, policy: RetryPolicy, loopback: bool, timeout: float = 5
) -> AsyncIterator[WebhookDispatcher]:
    """A dispatcher (not running: the test calls ``dispatch_due``) with its sender open."""
    sender = WebhookSender(timeout_seconds=timeout, allow_loopback=loopback)
    await sender.start()
    try:
        lease = timedelta(seconds=35)
        yield WebhookDispatcher(
            sessions, clock, sender, policy, poll_seconds=1, concurrency=4, lease=lease
        )
    finally:
        await sender.close()


def test_the_default_schedule_retries_for_more_than_a_day() -> None:
    policy = RetryPolicy.of(CrmSettings.model_construct())
    assert policy.span() >= timedelta(days=1)
    delays = [policy.delay_after(n) for n in range(1, policy.max_attempts)]
    assert delays[:3] == [timedelta(seconds=10), timedelta(seconds=40), timedelta(seconds=160)]


async def test_a_failing_delivery_is_retried_over_a_day_then_the_endpoint_disabled(
    sessions: Sessions,
) -> None:
    clock = Clock()
    policy = RetryPolicy.of(CrmSettings.model_construct())
    async with receiving(Receiver(always_fail=True)) as receiver:
        agent_id, endpoint_id = await _setup(sessions, clock, receiver.url, receiver)
        async with _dispatching(sessions, clock, policy, loopback=True) as dispatcher:
            attempts = await _walk_the_schedule(sessions, clock, dispatcher)
            # Three days after the first failure, with no success since: disabled.
            clock.now = attempts[0] + policy.disable_after
            await _queue(sessions, clock, agent_id, "ev-2")
            assert await dispatcher.dispatch_due() == 1
    async with sessions() as session:
        first = await session.scalar(
            select(WebhookDelivery).where(WebhookDelivery.event_id == "ev-1")
        )
        endpoint = await session.get_one(WebhookEndpoint, endpoint_id)
    assert first is not None
    assert (first.status, first.attempts) == ("failed", policy.max_attempts)
    assert receiver.requests == len(attempts) + 1
    assert attempts[-1] - attempts[0] >= timedelta(days=1)
    assert all(b - a >= timedelta(seconds=10) for a, b in itertools.pairwise(attempts))
    assert not endpoint.enabled
    assert "every delivery has failed since 2026-12-01 09:00" in (endpoint.disabled_reason or "")


async def _walk_the_schedule(
    sessions: Sessions, clock: Clock, dispatcher: WebhookDispatcher
) -> list[datetime]:
    """Dispatch, jump the clock to the next attempt, until the delivery is final."""
    attempts: list[datetime] = []
    while True:
        if await dispatcher.dispatch_due():
            attempts.append(clock.now)
        async with sessions() as session:
            delivery = (await session.scalars(select(WebhookDelivery))).one()
        if delivery.status != "pending":
            return attempts
        clock.now = max(clock.now, delivery.next_attempt_at)


async def _queue(sessions: Sessions, clock: Clock, agent_id: uuid.UUID, event_id: str) -> None:
    event = ClientCreated(
        agent_id=agent_id, client_id=uuid.uuid4(), stage="lead", created_at=clock()
    )
    fanout = WebhookFanout(sessions, clock, on_queued=lambda: None)
    assert await fanout.queue(TYPES_BY_NAME["client.created"], event, event_id, clock()) == 1


async def test_no_request_reaches_a_loopback_address_unless_allowed(sessions: Sessions) -> None:
    clock = Clock()
    policy = RetryPolicy(0.01, 1, 0.01, 1, timedelta(days=3))
    async with receiving(Receiver()) as receiver:
        # "localhost" passes the URL check (a name), and is refused when it resolves.
        port = receiver.url.split(":")[2].split("/")[0]
        _, _endpoint_id = await _setup(sessions, clock, f"https://localhost:{port}/hook", receiver)
        async with _dispatching(sessions, clock, policy, loopback=False) as dispatcher:
            assert await dispatcher.dispatch_due() == 1
    async with sessions() as session:
        delivery = (await session.scalars(select(WebhookDelivery))).one()
    assert receiver.requests == 0
    assert delivery.status == "failed"
    assert "not allowed" in (delivery.last_error or "")


@pytest.mark.parametrize(
    "url",
    [
        "http://hooks.example.com/x",
        "https://127.0.0.1/x",
        "https://10.1.2.3/x",
        "https://169.254.169.254/latest/meta-data",
        "https://[::1]/x",
        "https://[::ffff:127.0.0.1]/x",
        "https://user:pw@hooks.example.com/x",
        "ftp://hooks.example.com/x",
    ],
)
def test_an_endpoint_url_must_be_public_https(url: str) -> None:
    with pytest.raises(BadWebhookUrl):
        check_url(url, allow_loopback=False)


async def test_a_redirect_is_not_followed(sessions: Sessions) -> None:
    clock = Clock(datetime.now(UTC))  # the receiver checks the signature's timestamp
    policy = RetryPolicy(0.01, 1, 0.01, 1, timedelta(days=3))
    async with receiving(Receiver()) as target, receiving(Receiver(status=302)) as redirecting:
        _, _ = await _setup(sessions, clock, redirecting.url, redirecting)
        async with _dispatching(sessions, clock, policy, loopback=True) as dispatcher:
            await dispatcher.dispatch_due()
    async with sessions() as session:
        delivery = (await session.scalars(select(WebhookDelivery))).one()
    assert redirecting.requests == 1
    assert target.requests == 0
    assert (delivery.status, delivery.last_status_code) == ("failed", 302)


async def test_a_redelivered_event_queues_nothing_new(sessions: Sessions) -> None:
    clock = Clock()
    agent_id, _ = await _setup(sessions, clock, "https://hooks.example.com/x", Receiver())
    event = ClientCreated(agent_id=agent_id, client_id=uuid.uuid4(), stage="lead", created_at=START)
    fanout = WebhookFanout(sessions, clock, on_queued=lambda: None)
    assert await fanout.queue(TYPES_BY_NAME["client.created"], event, "ev-1", START) == 0


async def test_a_slow_receiver_times_out(sessions: Sessions) -> None:
    clock = Clock(datetime.now(UTC))
    policy = RetryPolicy(0.01, 1, 0.01, 1, timedelta(days=3))
    async with receiving(Receiver(delay=3)) as slow:
        await _setup(sessions, clock, slow.url, slow)
        async with _dispatching(sessions, clock, policy, loopback=True, timeout=0.3) as dispatcher:
            await dispatcher.dispatch_due()
    async with sessions() as session:
        delivery = (await session.scalars(select(WebhookDelivery))).one()
    assert delivery.status == "failed"
    assert delivery.last_error == "timed out after 0.3 s"
