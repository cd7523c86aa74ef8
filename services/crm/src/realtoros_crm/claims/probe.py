"""Is anything due? Asked on every tick before a claim, so that a tick with nothing to do
(most of them, with a sub-second tick) costs one read of an index and nothing else: no
transaction, no locks, no batch.

The conditions are those of the claim's locking SELECT (claims/rows.py ``_due_statement``):
a pending email task due by ``now``, not of a paused plan. Migration 0014's partial index
``ix_tasks_due_email`` (due_at, id) INCLUDE (plan_run_id) answers it from the index alone,
and a paused plan's task costs one primary-key lookup of its run. A false "yes" only costs
the claim it would have run anyway; a false "no" cannot happen for a task that was due and
committed before the probe began (READ COMMITTED), and one committed later is seen by the
next tick.
"""

from __future__ import annotations

from datetime import datetime

from realtoros_crm.db import Sessions

# ORDER BY due_at (not EXISTS, whose ORDER BY the planner drops): the planner must walk the
# index in due order and stop at the first hit or at ``now``. Without it, estimating that
# half the table may be due, it scanned the whole table (78 ms at 200,000 tasks).
ANYTHING_DUE = """
SELECT 1 FROM tasks AS t
WHERE t.status = 'pending' AND t.task_type = 'email' AND t.due_at <= $1
  AND NOT EXISTS (
    SELECT 1 FROM plan_runs AS r WHERE r.id = t.plan_run_id AND r.status = 'paused')
ORDER BY t.due_at
LIMIT 1
"""


async def anything_due(sessions: Sessions, now: datetime) -> bool:
    """Whether a claim at ``now`` would find a task (a read outside any transaction)."""
    async with sessions() as session:
        connection = await session.connection()
        raw = (await connection.get_raw_connection()).driver_connection
        # Straight on asyncpg (a prepared statement): SQLAlchemy would BEGIN first.
        return await raw.fetchval(ANYTHING_DUE, now) is not None  # type: ignore[union-attr]
