"""The dashboard's figures against a hand-built data set whose answers are known, and the
activity feed (real descriptions, links, newest first, never another agent's)."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from realtoros_crm.activities.service import record_activity
from realtoros_crm.clients.models import Client
from realtoros_crm.clock import ManualClock
from realtoros_crm.emails.models import Email
from realtoros_crm.plans.models import PlanRun
from realtoros_crm.tasks.models import Task
from tests.crm import plan_support
from tests.crm.helpers import Crm, sign_up
from tests.crm.plan_support import call, when

clock = plan_support.clock
crm_at = plan_support.crm_at

NOW = when("2026-11-25T12:00:00-05:00")  # Wednesday noon in New York


class DataSet:
    def __init__(self, session: AsyncSession, agent_id: str) -> None:
        self.session, self.agent_id = session, uuid.UUID(agent_id)

    def client(self, stage: str, *, deleted: bool = False) -> Client:
        client = Client(
            id=uuid.uuid4(),
            agent_id=self.agent_id,
            name=f"{stage.title()} Client",
            email=f"{uuid.uuid4().hex[:8]}@example.org",
            stage=stage,
            created_at=NOW - timedelta(days=60),
            updated_at=NOW,
            deleted_at=NOW if deleted else None,
        )
        self.session.add(client)
        return client

    def task(self, client: Client, status: str, due: datetime, **fields: Any) -> Task:
        task = Task(
            id=uuid.uuid4(),
            agent_id=self.agent_id,
            client_id=client.id,
            status=status,
            due_at=due,
            created_at=NOW,
            updated_at=NOW,
            email=None,
            **fields,
        )
        self.session.add(task)
        return task

    async def email(self, client: Client, sent: datetime | None, **outcomes: Any) -> Email:
        task = self.task(client, "sent" if sent else "composing", sent or NOW)
        await self.session.flush()
        email = Email(
            agent_id=self.agent_id,
            client_id=client.id,
            task_id=task.id,
            status="sent" if sent else "composing",
            to_email=client.email,
            sent_at=sent,
            **outcomes,
        )
        self.session.add(email)
        return email

    def run(self, client: Client, name: str, status: str) -> None:
        self.session.add(
            PlanRun(
                agent_id=self.agent_id,
                client_id=client.id,
                plan_id=None,
                plan_name=name,
                status=status,
                started_at=NOW - timedelta(days=10),
            )
        )


async def build(session: AsyncSession, agent_id: str) -> None:
    data = DataSet(session, agent_id)
    lead, _, negotiating = data.client("lead"), data.client("lead"), data.client("negotiating")
    closed, _, lost = data.client("closed"), data.client("closed"), data.client("lost")
    data.client("lead", deleted=True)  # not counted anywhere
    await session.flush()
    data.task(lead, "pending", NOW - timedelta(days=2), task_type="call")  # overdue
    data.task(lead, "pending", NOW - timedelta(minutes=5))  # overdue
    data.task(lead, "pending", NOW + timedelta(days=1))
    data.task(lead, "done", NOW - timedelta(days=3), completed_at=NOW - timedelta(days=3))
    data.task(lead, "done", NOW - timedelta(days=1), completed_at=NOW - timedelta(hours=1))
    data.task(lead, "done", NOW - timedelta(days=90), completed_at=NOW - timedelta(days=90))
    await data.email(
        lead,
        when("2026-11-25T10:00:00-05:00"),
        delivered_at=NOW,
        first_opened_at=NOW,
        open_count=3,
        first_clicked_at=NOW,
        click_count=1,
    )
    await data.email(
        negotiating,
        when("2026-11-23T10:00:00-05:00"),
        delivered_at=NOW,
        first_opened_at=NOW,
        open_count=1,
    )
    await data.email(closed, when("2026-11-24T10:00:00-05:00"), delivered_at=NOW)
    await data.email(
        lost, when("2026-11-20T10:00:00-05:00"), bounced_at=NOW, bounce_type="permanent"
    )
    await data.email(
        lead, when("2026-10-15T10:00:00-04:00"), delivered_at=NOW, first_opened_at=NOW
    )  # before the period
    await data.email(lead, None)  # never sent
    record_activity(
        session,
        agent_id=data.agent_id,
        client_id=lost.id,
        kind="unsubscribed",
        summary="Unsubscribed from follow-up emails after a hard bounce.",
        occurred_at=NOW - timedelta(days=1),
    )
    for status in ("active", "paused", "done", "stopped"):
        data.run(lead, "Standard follow-up", status)
    data.run(negotiating, "Negotiation", "cancelled")


async def test_dashboard_figures_match_a_hand_built_data_set(
    crm_at: Crm, clock: ManualClock
) -> None:
    who = await sign_up(crm_at.http, timezone="America/New_York")
    other = await sign_up(crm_at.http, timezone="America/New_York")
    async with crm_at.state.sessions() as session, session.begin():
        await build(session, who.agent["id"])
        await build(session, other.agent["id"])  # the same again for someone else
    clock.set(NOW)
    period = "from=2026-11-01T00:00:00-04:00&to=2026-11-26T00:00:00-05:00"
    figures = await call(crm_at, who, "GET", f"/dashboard?{period}")
    assert figures["total_clients"] == 6
    assert figures["active_clients"] == 3
    assert figures["clients_by_stage"] == {
        "lead": 2,
        "prospect": 0,
        "negotiating": 1,
        "under_contract": 0,
        "closed": 2,
        "lost": 1,
    }
    assert figures["conversion_rate"] == 0.3333
    assert figures["tasks"] == {"pending": 3, "overdue": 2, "done": 2}
    emails = figures["emails"]
    counts = {k: emails[k] for k in ("sent", "delivered", "opened", "clicked", "bounced")}
    assert counts == {"sent": 4, "delivered": 3, "opened": 2, "clicked": 1, "bounced": 1}
    assert (emails["sent_today"], emails["sent_this_week"]) == (1, 3)
    assert (emails["complained"], emails["unsubscribed"]) == (0, 1)
    assert emails["rates"] == {
        "delivery": 0.75,
        "open": 0.5,
        "click": 0.25,
        "bounce": 0.25,
        "unsubscribe": 0.25,
    }
    assert figures["plans"] == [
        {"plan_id": None, "plan_name": "Negotiation", "active": 0, "done": 0, "stopped": 1},
        {"plan_id": None, "plan_name": "Standard follow-up", "active": 2, "done": 1, "stopped": 1},
    ]
    bad = await crm_at.http.get(
        "/dashboard?from=2026-11-26T00:00:00Z&to=2026-11-01T00:00:00Z", headers=who.headers
    )
    assert bad.status_code == 422
    assert bad.headers["content-type"] == "application/problem+json"


async def test_an_empty_dashboard_has_no_rates_and_the_feed_is_the_agents_own(
    crm_at: Crm,
) -> None:
    who, other = await sign_up(crm_at.http), await sign_up(crm_at.http)
    figures = await call(crm_at, who, "GET", "/dashboard")
    assert figures["emails"]["rates"] == dict.fromkeys(
        ("delivery", "open", "click", "bounce", "unsubscribe")
    )
    assert figures["conversion_rate"] is None
    async with crm_at.state.sessions() as session, session.begin():
        await build(session, other.agent["id"])
    assert await call(crm_at, who, "GET", "/activity") == []
    feed = await call(crm_at, other, "GET", "/activity")
    assert feed
    assert all(item["summary"] and item["client_name"] and item["client_id"] for item in feed)
    times = [item["occurred_at"] for item in feed]
    assert times == sorted(times, reverse=True)
