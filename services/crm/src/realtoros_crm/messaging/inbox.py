"""The inbox: which events each consumer has already applied."""

from __future__ import annotations

from dataclasses import dataclass
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


@dataclass(frozen=True)
class InboxKey:
    """The inbox row an event's effect writes: one per consumer and event id."""

    consumer: str
    event_id: str

    def params(self, now: datetime) -> dict[str, object]:
        """The bind parameters of ``FIRST_DELIVERY_CTE``."""
        return {"inbox_consumer": self.consumer, "inbox_event_id": self.event_id, "now": now}


FIRST_DELIVERY_CTE = (
    "first_delivery AS ("
    "INSERT INTO inbox (consumer, event_id, processed_at)"
    " VALUES (:inbox_consumer, :inbox_event_id, :now)"
    " ON CONFLICT (consumer, event_id) DO NOTHING RETURNING event_id)"
)
"""``first_delivery`` inside a statement's ``WITH``, the SQL of ``first_delivery()``: it
has a row when this is the event's first delivery to the consumer. Lets the inbox insert
share a round trip with the effect's first statement; same locking as above."""
