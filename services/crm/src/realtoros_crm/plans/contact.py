"""What a client getting in touch does to their follow-up plans: the one rule that a
reply (and any other contact the CRM records as one) applies. Flushes only."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from realtoros_crm.plans.models import Plan, PlanRun
from realtoros_crm.plans.runs import end_run, pause_run

REPLY_REASON = "client replied"


async def respond_to_client_contact(
    session: AsyncSession, client_id: uuid.UUID, reason: str, now: datetime
) -> list[PlanRun]:
    """The client got in touch (a reply; a logged call or meeting may do the same): each of
    their active runs does what its plan says on a reply — pause (the default, also when
    the plan was deleted), stop, or continue. Returns the runs paused or stopped."""
    statement = (
        select(PlanRun, Plan.on_reply)
        .outerjoin(Plan, Plan.id == PlanRun.plan_id)
        .where(PlanRun.client_id == client_id, PlanRun.status == "active")
        .order_by(PlanRun.created_at, PlanRun.id)
        .with_for_update(of=PlanRun)
    )
    affected = []
    for run, on_reply in (await session.execute(statement)).all():
        if on_reply == "continue":
            continue
        if on_reply == "stop":
            await end_run(session, run, "stopped", reason, now)
        else:
            await pause_run(session, run, now, reason)
        affected.append(run)
    return affected
