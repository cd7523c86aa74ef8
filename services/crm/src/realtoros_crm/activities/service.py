"""Recording and reading the client timeline. Flushes only: the caller commits."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from realtoros_contracts import TimelineEntry
from realtoros_crm.activities.models import Activity

SUMMARY_LIMIT = 2000


def record_activity(
    session: AsyncSession,
    *,
    agent_id: uuid.UUID,
    client_id: uuid.UUID,
    kind: str,
    summary: str,
    occurred_at: datetime,
    email_id: uuid.UUID | None = None,
    task_id: uuid.UUID | None = None,
) -> Activity:
    activity = Activity(
        agent_id=agent_id,
        client_id=client_id,
        kind=kind,
        summary=summary[:SUMMARY_LIMIT],
        occurred_at=occurred_at,
        email_id=email_id,
        task_id=task_id,
    )
    session.add(activity)
    return activity


async def recent_timelines(
    session: AsyncSession, client_ids: Iterable[uuid.UUID], *, per_client: int = 10
) -> dict[uuid.UUID, list[TimelineEntry]]:
    """The last ``per_client`` activities of each client, oldest first, in one query."""
    ids = list(set(client_ids))
    if not ids:
        return {}
    rank = (
        func.row_number()
        .over(partition_by=Activity.client_id, order_by=Activity.occurred_at.desc())
        .label("rank")
    )
    ranked = (
        select(Activity.client_id, Activity.occurred_at, Activity.kind, Activity.summary, rank)
        .where(Activity.client_id.in_(ids))
        .subquery()
    )
    statement = (
        select(ranked.c.client_id, ranked.c.occurred_at, ranked.c.kind, ranked.c.summary)
        .where(ranked.c.rank <= per_client)
        .order_by(ranked.c.client_id, ranked.c.occurred_at)
    )
    timelines: dict[uuid.UUID, list[TimelineEntry]] = {client_id: [] for client_id in ids}
    for client_id, at, kind, summary in (await session.execute(statement)).all():
        timelines[client_id].append(TimelineEntry(at=at, kind=kind, summary=summary))
    return timelines


async def client_timeline(
    session: AsyncSession,
    agent_id: uuid.UUID,
    client_id: uuid.UUID,
    *,
    limit: int,
    order: str = "desc",
) -> Sequence[Activity]:
    """The client's activities in time order: the latest ``limit`` newest first, or the
    first ``limit`` oldest first. Ties (one transaction) keep the order they were written."""
    if order == "asc":
        ordering = (Activity.occurred_at.asc(), Activity.seq.asc())
    else:
        ordering = (Activity.occurred_at.desc(), Activity.seq.desc())
    statement = (
        select(Activity)
        .where(Activity.agent_id == agent_id, Activity.client_id == client_id)
        .order_by(*ordering)
        .limit(limit)
    )
    return (await session.scalars(statement)).all()


async def email_history(
    session: AsyncSession, agent_id: uuid.UUID, email_id: uuid.UUID
) -> Sequence[Activity]:
    """Everything recorded about one email (drafted, approved, sent, delivered, opened …)."""
    statement = (
        select(Activity)
        .where(Activity.agent_id == agent_id, Activity.email_id == email_id)
        .order_by(Activity.occurred_at.asc(), Activity.seq.asc())
    )
    return (await session.scalars(statement)).all()
