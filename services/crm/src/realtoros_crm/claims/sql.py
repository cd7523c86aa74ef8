"""The claim's statements run on the session's asyncpg connection, in its transaction.

A batch is hundreds of rows: SQLAlchemy's result and parameter layers cost as much again
as asyncpg's own work on them. The reads are still SQLAlchemy Core, compiled once; the
writes are fixed ``unnest`` statements (claims/writes.py). SQLAlchemy's OpenTelemetry
instrumentation does not see these statements; the tick's consume span covers the claim.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any

from sqlalchemy import Select
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncSession

Build = Callable[[], Select[Any]]
"""Makes a statement (compiled once per dialect)."""


async def driver(session: AsyncSession) -> Any:
    """The asyncpg connection under the session, inside the session's transaction."""
    connection = await session.connection()
    raw: Any = (await connection.get_raw_connection()).driver_connection
    if not raw.is_in_transaction():
        # SQLAlchemy begins the transaction with its first statement: without one, a
        # locking SELECT would run on its own and release its locks as soon as it ends.
        await connection.exec_driver_sql("SELECT 1")
        assert raw.is_in_transaction(), "the claim needs a transaction"
    return raw


@lru_cache(maxsize=32)  # a few statements per engine
def _compiled(build: Build, dialect: Dialect) -> tuple[str, Any]:
    compiled = build().compile(dialect=dialect)
    return str(compiled), compiled


async def fetch(session: AsyncSession, build: Build, **params: Any) -> list[Any]:
    """The rows of the statement ``build`` makes, with these parameters."""
    connection = await session.connection()
    sql, compiled = _compiled(build, connection.dialect)
    values = compiled.construct_params(params)
    rows: list[Any] = await (await driver(session)).fetch(
        sql, *(values[name] for name in compiled.positiontup)
    )
    return rows
