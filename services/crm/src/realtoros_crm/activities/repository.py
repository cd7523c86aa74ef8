"""Every statement on the client timeline (activities): recording and reading it. Adds
only: the caller commits."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import DateTime, Text, Uuid, any_, bindparam, func, insert, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession

from realtoros_crm.activities.models import Activity
from realtoros_crm.driver import execute, fetch, table, unnest
from realtoros_crm.emails.models import Email

SUMMARY_LIMIT = 2000
TIMELINE_LENGTH = 10


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


def record_email_activity(
    session: AsyncSession, email: Email, kind: str, summary: str, occurred_at: datetime
) -> Activity:
    """A timeline entry about an email (and its task), on its client's timeline."""
    return record_activity(
        session,
        agent_id=email.agent_id,
        client_id=email.client_id,
        kind=kind,
        summary=summary,
        occurred_at=occurred_at,
        email_id=email.id,
        task_id=email.task_id,
    )


_ENTRIES = unnest(
    "a",
    ("agent_id", "agent_ids", Uuid()),
    ("client_id", "client_ids", Uuid()),
    ("kind", "kinds", Text()),
    ("summary", "summaries", Text()),
    ("task_id", "task_ids", Uuid()),
    ordered=True,
)
RECORD_ACTIVITIES = insert(table(Activity)).from_select(
    ["id", "agent_id", "client_id", "kind", "summary", "task_id", "occurred_at"],
    select(
        func.gen_random_uuid(),
        *_ENTRIES.c[:5],
        bindparam("at", type_=DateTime(timezone=True)),
    ).order_by(_ENTRIES.c.n),
    include_defaults=False,
)


class Entry(NamedTuple):
    """A timeline entry of a task (``record_activities``)."""

    agent_id: uuid.UUID
    client_id: uuid.UUID
    kind: str
    summary: str
    task_id: uuid.UUID | None


async def record_activities(session: AsyncSession, entries: list[Entry], at: datetime) -> None:
    """Many timeline entries at ``at``, in their order, in one statement (the fast path: a
    claim batch's skipped tasks)."""
    if entries:
        columns = [list(column) for column in zip(*entries, strict=True)]
        agent_ids, client_ids, kinds, summaries, task_ids = columns
        await execute(
            session,
            RECORD_ACTIVITIES,
            agent_ids=agent_ids,
            client_ids=client_ids,
            kinds=kinds,
            summaries=[summary[:SUMMARY_LIMIT] for summary in summaries],
            task_ids=task_ids,
            at=at,
        )


_RANK = (
    func.row_number()
    .over(partition_by=Activity.client_id, order_by=Activity.occurred_at.desc())
    .label("rank")
)
_RANKED = (
    select(Activity.client_id, Activity.occurred_at, Activity.kind, Activity.summary, _RANK)
    .where(Activity.client_id == any_(bindparam("ids", type_=ARRAY(Uuid()))))
    .subquery()
)
RECENT_TIMELINES = (
    select(_RANKED.c.client_id, _RANKED.c.occurred_at, _RANKED.c.kind, _RANKED.c.summary)
    .where(_RANKED.c.rank <= TIMELINE_LENGTH)
    .order_by(_RANKED.c.client_id, _RANKED.c.occurred_at)
)
"""The last activities of each client, oldest first."""


async def recent_timelines(
    session: AsyncSession, client_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, list[dict[str, Any]]]:
    """The last ``TIMELINE_LENGTH`` activities of each client, oldest first, in one query,
    as the TaskDue's ``timeline`` entries (plain data: the event validates them). On the
    fast path: a claim batch reads hundreds of clients' timelines."""
    ids = list(set(client_ids))
    timelines: dict[uuid.UUID, list[dict[str, Any]]] = {client_id: [] for client_id in ids}
    if ids:
        for client_id, at, kind, summary in await fetch(session, RECENT_TIMELINES, ids=ids):
            timelines[client_id].append({"at": at, "kind": kind, "summary": summary})
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
