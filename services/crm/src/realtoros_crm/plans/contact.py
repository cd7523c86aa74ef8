"""What a client getting in touch does to their follow-up plans: the one rule that a
reply (and any other contact the CRM records as one) applies. Flushes only."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from realtoros_crm.plans.lifecycle import end_run, pause_run
from realtoros_crm.plans.models import Plan, PlanRun

REPLY_REASON = "client replied"


async def respond_to_client_contact(
    session: AsyncSession,
    client_id: uuid.UUID,
    reason: str,
    now: datetime,
    *,
    conversation_minutes: int | None = None,
) -> list[PlanRun]:
    """The client got in touch. A reply: each of their active runs does what its plan says
    on a reply — pause (the default, also when the plan was deleted), stop, or continue. A
    conversation of ``conversation_minutes`` (a connected call, a meeting): each active run
    whose plan's ``pause_on_conversation_minutes`` it reaches pauses. Returns the runs
    paused or stopped."""
    statement = (
        select(PlanRun, Plan.on_reply)
        .outerjoin(Plan, Plan.id == PlanRun.plan_id)
        .where(PlanRun.client_id == client_id, PlanRun.status == "active")
        .order_by(PlanRun.created_at, PlanRun.id)
        .with_for_update(of=PlanRun)
    )
    if conversation_minutes is not None:
        statement = statement.where(Plan.pause_on_conversation_minutes <= conversation_minutes)
    affected = []
    for run, on_reply in (await session.execute(statement)).all():
        if conversation_minutes is None and on_reply == "continue":
            continue
        if conversation_minutes is None and on_reply == "stop":
            await end_run(session, run, "stopped", reason, now)
        else:
            await pause_run(session, run, now, reason)
        affected.append(run)
    return affected
