"""What a claim writes: one statement for all the claimed tasks of a batch, one per other
outcome. Each column is one array parameter (``unnest``), so a statement is the same text
— one prepared statement — whatever the batch size, and no row goes through the ORM."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy.ext.asyncio import AsyncSession

from realtoros_contracts import Namespace, TaskDue, encode, envelope_headers
from realtoros_crm.activities.service import SUMMARY_LIMIT
from realtoros_crm.claims.sql import driver
from realtoros_crm.messaging.outbox import SOURCE

# One statement for the claimed tasks: their emails, the tasks (which refer to the emails:
# the foreign key is checked at the end of the statement) and the TaskDue outbox rows, in
# the given order (the relay publishes by id), each envelope fixed now.
_CLAIM = """
WITH emails AS (
    INSERT INTO emails (id, agent_id, client_id, task_id, status, to_email, created_at,
                        updated_at)
    SELECT e.id, e.agent_id, e.client_id, e.task_id, 'composing', e.to_email, $6, $6
    FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::uuid[], $5::text[])
         AS e(id, agent_id, client_id, task_id, to_email)
), tasks AS (
    UPDATE tasks AS t SET status = 'composing', email_id = c.email_id, updated_at = $6
    FROM unnest($4::uuid[], $1::uuid[]) AS c(id, email_id)
    WHERE t.id = c.id
)
INSERT INTO outbox (event_id, subject, stream, event_type, body, headers)
SELECT o.event_id, $10, $11, $12, o.body, o.headers::jsonb
FROM unnest($7::text[], $8::bytea[], $9::text[]) WITH ORDINALITY AS o(event_id, body, headers, n)
ORDER BY o.n
"""
_CLOSE_TASKS = """
UPDATE tasks AS t SET status = c.status, failure_reason = c.reason, updated_at = $4
FROM unnest($1::uuid[], $2::text[], $3::text[]) AS c(id, status, reason)
WHERE t.id = c.id
"""
_DEFER_TASKS = """
UPDATE tasks AS t SET due_at = d.due_at, updated_at = $3
FROM unnest($1::uuid[], $2::timestamptz[]) AS d(id, due_at)
WHERE t.id = d.id
"""
_INSERT_SKIPS = """
INSERT INTO activities (id, agent_id, client_id, kind, summary, task_id, occurred_at)
SELECT a.id, a.agent_id, a.client_id, 'follow_up_skipped', a.summary, a.task_id, $6
FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::uuid[])
     WITH ORDINALITY AS a(id, agent_id, client_id, summary, task_id, n)
ORDER BY a.n
"""


class Outboxed(NamedTuple):
    event_id: str
    body: bytes
    headers: str
    """JSON"""


class Claimed(NamedTuple):
    """A claimed task: its new email and its TaskDue's outbox row."""

    task_id: uuid.UUID
    agent_id: uuid.UUID
    client_id: uuid.UUID
    email_id: uuid.UUID
    to_email: str | None
    """None never reaches the claim's insert: a client without an email is skipped."""
    outbox: Outboxed


@dataclass
class Skipped:
    task_id: uuid.UUID
    agent_id: uuid.UUID
    client_id: uuid.UUID
    purpose: str
    reason: str


@dataclass
class BatchWrites:
    """Everything one claim batch changes, written by :func:`write_batch`."""

    claimed: list[Claimed] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    failed: list[tuple[uuid.UUID, str]] = field(default_factory=list)
    """(task id, reason)"""
    deferred: list[tuple[uuid.UUID, datetime]] = field(default_factory=list)
    """(task id, its new due time)"""


async def write_batch(
    session: AsyncSession, ns: Namespace, writes: BatchWrites, now: datetime
) -> None:
    """Emails, task updates, the TaskDue outbox rows and the skips' timeline entries."""
    db = await driver(session)
    if writes.claimed:
        await db.execute(_CLAIM, *_claim_arguments(ns, writes.claimed, now))
    closed = [(s.task_id, "skipped", s.reason) for s in writes.skipped]
    closed += [(task_id, "failed", reason) for task_id, reason in writes.failed]
    if closed:
        ids, statuses, reasons = (list(column) for column in zip(*closed, strict=True))
        await db.execute(_CLOSE_TASKS, ids, statuses, reasons, now)
    if writes.deferred:
        ids, due_ats = (list(column) for column in zip(*writes.deferred, strict=True))
        await db.execute(_DEFER_TASKS, ids, due_ats, now)
    if writes.skipped:
        skipped = writes.skipped
        await db.execute(
            _INSERT_SKIPS,
            [uuid.uuid4() for _ in skipped],
            [s.agent_id for s in skipped],
            [s.client_id for s in skipped],
            [f"{s.purpose} follow-up skipped: {s.reason}"[:SUMMARY_LIMIT] for s in skipped],
            [s.task_id for s in skipped],
            now,
        )


def outbox_row(event: TaskDue, event_id: str, now: datetime, trace: dict[str, str]) -> Outboxed:
    """The TaskDue as the outbox keeps it: its body and its envelope, fixed now (so a
    re-publish after a crash is byte-for-byte the same message), with the writer's trace
    context (the relay's publish continues that trace)."""
    envelope = envelope_headers(event, event_id=event_id, source=SOURCE, time=now)
    return Outboxed(event_id, encode(event), json.dumps(envelope | trace))


def _claim_arguments(ns: Namespace, claimed: Sequence[Claimed], now: datetime) -> list[Any]:
    return [
        [c.email_id for c in claimed],
        [c.agent_id for c in claimed],
        [c.client_id for c in claimed],
        [c.task_id for c in claimed],
        [c.to_email for c in claimed],
        now,
        [c.outbox.event_id for c in claimed],
        [c.outbox.body for c in claimed],
        [c.outbox.headers for c in claimed],
        ns.subject(TaskDue),
        ns.stream_for(TaskDue).name,
        TaskDue.TYPE,
    ]
