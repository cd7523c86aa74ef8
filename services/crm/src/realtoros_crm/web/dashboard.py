"""The dashboard: the dashboard service's figures as cards and charts, what needs the agent
today, and the recent activity."""

from __future__ import annotations

import uuid
from datetime import timedelta

from fastapi import APIRouter, HTTPException, Request, Response, status

from realtoros_crm.api.deps import SessionDep, StateDep
from realtoros_crm.clients.models import STAGES
from realtoros_crm.clients.service import client_names
from realtoros_crm.dashboard.service import (
    Period,
    activity_feed,
    client_figures,
    email_figures,
    emails_by_day,
    plan_figures,
    task_figures,
)
from realtoros_crm.replies.listing import list_replies, mark_answered
from realtoros_crm.tasks.models import Task
from realtoros_crm.tasks.service import TaskFilter, list_tasks
from realtoros_crm.web.render import page, redirect
from realtoros_crm.web.session import WebAgent
from realtoros_crm.webhooks.service import disabled_endpoints

router = APIRouter(prefix="/app")

PERIOD = timedelta(days=30)


def axis_top(largest: int) -> int:
    """A round top for the chart's y-axis at or above ``largest``, with a whole half-way tick."""
    for top in (2, 4, 6, 8, 10, 20, 40, 60, 100, 200, 400, 600, 1000):
        if largest <= top:
            return top
    return -(-largest // 1000) * 1000


@router.get("")
async def dashboard(
    request: Request, agent: WebAgent, session: SessionDep, state: StateDep
) -> Response:
    now = state.clock()
    period = Period(agent.id, now - PERIOD, now, now, agent.timezone)
    by_stage, total, active, conversion = await client_figures(session, agent.id)

    async def tasks(filters: TaskFilter) -> list[Task]:
        found = await list_tasks(
            session, agent.id, filters, now=now, zone=agent.timezone, limit=20, offset=0
        )
        return list(found)

    days = await emails_by_day(session, period)
    drafts = await tasks(TaskFilter(statuses=["awaiting_approval"]))
    overdue = await tasks(TaskFilter(overdue=True))
    kinds = ["call", "meeting", "custom"]  # the agent's own to-dos, not the follow-up emails
    today = await tasks(TaskFilter(statuses=["pending"], task_types=kinds, due_today=True))
    troubled = await tasks(TaskFilter(statuses=["failed", "unknown"]))
    replies = list(await list_replies(session, agent.id, unanswered=True, limit=20))
    names = await client_names(
        session,
        agent.id,
        [t.client_id for t in [*drafts, *overdue, *troubled, *today]]
        + [r.client_id for r in replies],
    )
    return page(
        request,
        "dashboard.html",
        total=total,
        active=active,
        conversion=conversion,
        by_stage=[(stage, by_stage[stage]) for stage in STAGES],
        stage_max=max([1, *by_stage.values()]),
        task_figures=await task_figures(session, period),
        emails=await email_figures(session, period),
        plans=await plan_figures(session, agent.id),
        days=days,
        day_max=axis_top(max([1, *(sent + bad for _, sent, _, bad in days)])),
        replies=replies,
        drafts=drafts,
        overdue=overdue,
        today=today,
        troubled=troubled,
        names=names,
        feed=await activity_feed(session, agent.id, limit=15, client_id=None),
        disabled_webhooks=await disabled_endpoints(session, agent.id),
    )


@router.post("/replies/{reply_id}/answered")
async def answer_reply(
    reply_id: uuid.UUID, agent: WebAgent, session: SessionDep, state: StateDep
) -> Response:
    if await mark_answered(session, agent.id, reply_id, state.clock()) is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "reply not found")
    return redirect("/app", "Reply marked answered.")
