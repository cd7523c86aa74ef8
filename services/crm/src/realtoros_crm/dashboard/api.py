"""The agent's dashboard and recent-activity feed."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query

from realtoros_crm.api.deps import CurrentAgent, SessionDep, StateDep
from realtoros_crm.dashboard.schemas import Dashboard, FeedItem
from realtoros_crm.dashboard.service import (
    Period,
    activity_feed,
    client_figures,
    email_figures,
    plan_figures,
    task_figures,
)
from realtoros_crm.fields import ZonedDatetime

router = APIRouter(tags=["dashboard"])

DEFAULT_PERIOD = timedelta(days=30)


@router.get("/dashboard")
async def read_dashboard(
    agent: CurrentAgent,
    session: SessionDep,
    state: StateDep,
    period_from: Annotated[ZonedDatetime | None, Query(alias="from")] = None,
    period_to: Annotated[ZonedDatetime | None, Query(alias="to")] = None,
) -> Dashboard:
    """Figures for [from, to) (default: the last 30 days): clients by stage, tasks, emails
    sent today and this week (the agent's time zone), delivery/open/click/bounce/unsubscribe
    rates over the emails sent in the period, conversion, and each plan's progress."""
    now = state.clock()
    end = period_to or now
    start = period_from or end - DEFAULT_PERIOD
    if start >= end:
        raise HTTPException(422, "'from' must be before 'to'")
    period = Period(agent.id, start, end, now, agent.timezone)
    by_stage, total, active, conversion = await client_figures(session, agent.id)
    return Dashboard(
        period_from=start,
        period_to=end,
        total_clients=total,
        active_clients=active,
        clients_by_stage=by_stage,
        conversion_rate=None if conversion is None else round(conversion, 4),
        tasks=await task_figures(session, period),
        emails=await email_figures(session, period),
        plans=await plan_figures(session, agent.id),
    )


@router.get("/activity")
async def read_activity(
    agent: CurrentAgent,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    client_id: uuid.UUID | None = None,
) -> list[FeedItem]:
    """What happened lately across the agent's clients, newest first, with links (ids)."""
    return await activity_feed(session, agent.id, limit=limit, client_id=client_id)
