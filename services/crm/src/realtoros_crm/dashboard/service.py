"""The dashboard's figures, each computed by one aggregate query in PostgreSQL."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from sqlalchemy import and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from realtoros_crm.activities.models import Activity
from realtoros_crm.clients.models import INACTIVE_STAGES, STAGES, Client
from realtoros_crm.dashboard.schemas import (
    EmailFigures,
    FeedItem,
    PlanProgress,
    Rates,
    TaskFigures,
)
from realtoros_crm.emails.models import Email
from realtoros_crm.plans.models import PlanRun
from realtoros_crm.plans.window import zone_or_utc
from realtoros_crm.tasks.models import Task


@dataclass(frozen=True)
class Period:
    agent_id: uuid.UUID
    start: datetime
    end: datetime
    now: datetime
    zone: str


async def client_figures(
    session: AsyncSession, agent_id: uuid.UUID
) -> tuple[dict[str, int], int, int, float | None]:
    """By stage, total, active (not closed, lost or deleted), conversion (closed / all)."""
    statement = (
        select(Client.stage, func.count())
        .where(Client.agent_id == agent_id, Client.deleted_at.is_(None))
        .group_by(Client.stage)
    )
    by_stage = dict.fromkeys(STAGES, 0)
    for stage, count in (await session.execute(statement)).all():
        by_stage[stage] = count
    total = sum(by_stage.values())
    active = sum(n for stage, n in by_stage.items() if stage not in INACTIVE_STAGES)
    conversion = by_stage["closed"] / total if total else None
    return by_stage, total, active, conversion


async def task_figures(session: AsyncSession, period: Period) -> TaskFigures:
    pending = Task.status == "pending"
    statement = select(
        func.count().filter(pending),
        func.count().filter(and_(pending, Task.due_at < period.now)),
        func.count().filter(
            Task.status == "done", Task.completed_at >= period.start, Task.completed_at < period.end
        ),
    ).where(Task.agent_id == period.agent_id)
    row = (await session.execute(statement)).one()
    return TaskFigures(pending=row[0], overdue=row[1], done=row[2])


def _local_starts(now: datetime, zone_name: str) -> tuple[datetime, datetime]:
    """The start of today and of this week (Monday) in the agent's zone, as instants."""
    zone = zone_or_utc(zone_name)
    today = now.astimezone(zone).date()
    monday = today - timedelta(days=today.isoweekday() - 1)
    return (
        datetime.combine(today, time(0), tzinfo=zone),
        datetime.combine(monday, time(0), tzinfo=zone),
    )


async def email_figures(session: AsyncSession, period: Period) -> EmailFigures:
    today, week = _local_starts(period.now, period.zone)
    in_period = and_(Email.sent_at >= period.start, Email.sent_at < period.end)
    statement = select(
        func.count().filter(Email.sent_at >= today),
        func.count().filter(Email.sent_at >= week),
        func.count().filter(in_period),
        func.count().filter(in_period, Email.delivered_at.is_not(None)),
        func.count().filter(in_period, Email.first_opened_at.is_not(None)),
        func.count().filter(in_period, Email.first_clicked_at.is_not(None)),
        func.count().filter(in_period, Email.bounced_at.is_not(None)),
        func.count().filter(in_period, Email.complained_at.is_not(None)),
    ).where(Email.agent_id == period.agent_id, Email.sent_at.is_not(None))
    row = (await session.execute(statement)).one()
    unsubscribed = await session.scalar(
        select(func.count(func.distinct(Activity.client_id))).where(
            Activity.agent_id == period.agent_id,
            Activity.kind == "unsubscribed",
            Activity.occurred_at >= period.start,
            Activity.occurred_at < period.end,
        )
    )
    sent = row[2]

    def rate(part: int) -> float | None:
        return round(part / sent, 4) if sent else None

    return EmailFigures(
        sent_today=row[0],
        sent_this_week=row[1],
        sent=sent,
        delivered=row[3],
        opened=row[4],
        clicked=row[5],
        bounced=row[6],
        complained=row[7],
        unsubscribed=unsubscribed or 0,
        rates=Rates(
            delivery=rate(row[3]),
            open=rate(row[4]),
            click=rate(row[5]),
            bounce=rate(row[6]),
            unsubscribe=rate(unsubscribed or 0),
        ),
    )


async def plan_figures(session: AsyncSession, agent_id: uuid.UUID) -> list[PlanProgress]:
    statement = (
        select(
            PlanRun.plan_id,
            PlanRun.plan_name,
            func.count().filter(PlanRun.status.in_(("active", "paused"))),
            func.count().filter(PlanRun.status == "done"),
            func.count().filter(PlanRun.status.in_(("stopped", "cancelled"))),
        )
        .where(PlanRun.agent_id == agent_id)
        .group_by(PlanRun.plan_id, PlanRun.plan_name)
        .order_by(PlanRun.plan_name, PlanRun.plan_id)
    )
    return [
        PlanProgress(plan_id=plan_id, plan_name=name, active=active, done=done, stopped=stopped)
        for plan_id, name, active, done, stopped in (await session.execute(statement)).all()
    ]


async def activity_feed(
    session: AsyncSession, agent_id: uuid.UUID, *, limit: int, client_id: uuid.UUID | None
) -> list[FeedItem]:
    """The agent's latest activities, newest first, with the client's name."""
    statement = (
        select(Activity, Client.name)
        .join(Client, Client.id == Activity.client_id)
        .where(Activity.agent_id == agent_id)
        .order_by(Activity.occurred_at.desc(), Activity.id.desc())
        .limit(limit)
    )
    if client_id is not None:
        statement = statement.where(Activity.client_id == client_id)
    return [
        FeedItem(
            id=activity.id,
            kind=activity.kind,
            summary=activity.summary,
            occurred_at=activity.occurred_at,
            client_id=activity.client_id,
            client_name=name,
            email_id=activity.email_id,
            task_id=activity.task_id,
        )
        for activity, name in (await session.execute(statement)).all()
    ]


async def emails_by_day(session: AsyncSession, period: Period) -> list[tuple[str, int, int, int]]:
    """Per day of the period (the agent's zone): emails sent, opened, and failed or bounced,
    oldest first, days without any left out."""
    zone = zone_or_utc(period.zone).key
    at = func.coalesce(Email.sent_at, Email.updated_at)
    day = func.to_char(func.timezone(zone, at), "YYYY-MM-DD")
    failed = Email.status.in_(("failed", "unknown")) | Email.bounced_at.is_not(None)
    statement = (
        select(
            day,
            func.count().filter(Email.sent_at.is_not(None)),
            func.count().filter(Email.first_opened_at.is_not(None)),
            func.count().filter(failed),
        )
        .where(
            Email.agent_id == period.agent_id,
            at >= period.start,
            at < period.end,
        )
        .group_by(day)
        .order_by(day)
    )
    return [(d, sent, opened, bad) for d, sent, opened, bad in await session.execute(statement)]
