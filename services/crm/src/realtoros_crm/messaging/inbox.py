"""The inbox: which events each consumer has already applied (one row per consumer and
event id), written in the transaction of the event's effect, so the effect happens once.

A recorder (messaging/recording.py) finds the delivery it handles on its session
(``pending_delivery``) and writes its inbox row first thing: on its own
(``first_delivery``), or inside its first statement (``FIRST_DELIVERY`` as a CTE: the
inbox insert shares a round trip with locking the rows of the effect). A concurrent copy
of the same event waits on the row lock of the insert and then sees the conflict.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import DateTime, String, bindparam
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from realtoros_crm.driver import fetch_value, table
from realtoros_crm.messaging.models import InboxEntry

INBOX = table(InboxEntry)
FIRST_DELIVERY = (
    insert(INBOX)
    .values(
        consumer=bindparam("inbox_consumer", type_=String),
        event_id=bindparam("inbox_event_id", type_=String),
        processed_at=bindparam("now", type_=DateTime(timezone=True)),
    )
    .on_conflict_do_nothing(index_elements=["consumer", "event_id"])
    .returning(INBOX.c.event_id)
)
"""A row when this is the event's first delivery to the consumer (``InboxKey.params``)."""

_PENDING = "realtoros_crm.inbox"


@dataclass(frozen=True)
class InboxKey:
    """The inbox row of one event's effect: one per consumer and event id."""

    consumer: str
    event_id: str

    def params(self, now: datetime) -> dict[str, object]:
        """The bind parameters of ``FIRST_DELIVERY``."""
        return {"inbox_consumer": self.consumer, "inbox_event_id": self.event_id, "now": now}


def expect_delivery(session: AsyncSession, key: InboxKey) -> None:
    """The recorder about to run in this session handles ``key``'s delivery."""
    session.info[_PENDING] = key


def pending_delivery(session: AsyncSession) -> InboxKey | None:
    """The delivery the recorder must write the inbox row of (taken: written once)."""
    key: InboxKey | None = session.info.pop(_PENDING, None)
    return key


def delivery_written(session: AsyncSession) -> bool:
    return _PENDING not in session.info


async def first_delivery(session: AsyncSession, now: datetime) -> bool:
    """Write the pending delivery's inbox row; False when the consumer already has it.
    Without a pending delivery (a recorder called directly), True."""
    if (key := pending_delivery(session)) is None:
        return True
    return await fetch_value(session, FIRST_DELIVERY, **key.params(now)) is not None
