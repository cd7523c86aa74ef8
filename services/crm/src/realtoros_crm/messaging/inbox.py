"""The inbox: which events each consumer has already applied."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from realtoros_crm.messaging.models import InboxEntry


async def first_delivery(
    session: AsyncSession, *, consumer: str, event_id: str, now: datetime
) -> bool:
    """Record that ``consumer`` handles ``event_id``; False when it already has.

    Runs in the transaction of the effect: a concurrent copy of the same event waits on the
    row lock here and then sees the conflict, so the effect happens once.
    """
    statement = (
        insert(InboxEntry)
        .values(consumer=consumer, event_id=event_id, processed_at=now)
        .on_conflict_do_nothing(index_elements=["consumer", "event_id"])
        .returning(InboxEntry.event_id)
    )
    inserted = (await session.execute(statement)).scalar_one_or_none()
    return inserted is not None
