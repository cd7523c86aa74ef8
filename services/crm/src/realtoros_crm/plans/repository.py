"""Statements on plan runs that the event recorders run once per event (as SQLAlchemy Core
against the models' tables, built once): whether a run is about to be done, without
loading it, on the fast path (``realtoros_crm.driver``). The rest of plans/ goes through
the ORM (runs.py)."""

from __future__ import annotations

import uuid

from sqlalchemy import String, Uuid, any_, bindparam, exists, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession

from realtoros_crm.driver import fetch_value, table
from realtoros_crm.plans.models import PlanRun
from realtoros_crm.tasks.models import OPEN_STATUSES, Task

RUNS, TASKS = table(PlanRun), table(Task)
_RUN_ID = bindparam("run_id", type_=Uuid)
_OPEN = bindparam("open", list(OPEN_STATUSES), type_=ARRAY(String))
LOCK_RUN = select(RUNS.c.status).where(RUNS.c.id == _RUN_ID).with_for_update()
RUN_HAS_OPEN_TASKS = select(
    exists().where(TASKS.c.plan_run_id == _RUN_ID, TASKS.c.status == any_(_OPEN))
)


async def lock_run_status(session: AsyncSession, run_id: uuid.UUID) -> str | None:
    """The run's status, the run locked (None: no such run)."""
    status: str | None = await fetch_value(session, LOCK_RUN, run_id=run_id)
    return status


async def run_has_open_tasks(session: AsyncSession, run_id: uuid.UUID) -> bool:
    """Whether any of the run's tasks is still open (a fresh snapshot after the lock: what
    the transactions it waited for committed)."""
    return bool(await fetch_value(session, RUN_HAS_OPEN_TASKS, run_id=run_id))
