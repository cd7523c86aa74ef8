"""Core statements run on the session's asyncpg connection, in its transaction: the fast
path for statements over hundreds of rows (the claim, the timelines of a batch), where
SQLAlchemy's result and parameter layers cost as much again as asyncpg's own work.

A statement is SQLAlchemy Core against the models' tables, built once at import and
compiled once per dialect; its rows are asyncpg records (by position or by name).
SQLAlchemy's OpenTelemetry instrumentation does not see these statements: the span of the
entrypoint (the tick's consume span) covers them.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, cast

from sqlalchemy import Table, bindparam, func
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.sql.expression import ClauseElement, Executable

from realtoros_crm.db import Base


def array_param(name: str, item: Any) -> Any:
    """A bind parameter holding a list of ``item``-typed values."""
    return bindparam(name, type_=ARRAY(item))


def unnest(alias: str, *columns: tuple[str, str, Any], ordered: bool = False) -> Any:
    """``unnest(:param1, :param2…) [WITH ORDINALITY] AS alias(column1, column2… [, n])``:
    one array parameter per column (name, parameter, item type). A statement over it is
    one prepared statement whatever the number of rows."""
    arrays = func.unnest(*[array_param(param, item) for _, param, item in columns])
    names = [name for name, _, _ in columns]
    valued = arrays.table_valued(*names, with_ordinality="n" if ordered else None)
    return valued.render_derived(name=alias)


def table(model: type[Base]) -> Table:
    """The model's table, for Core statements (typed: ``__table__`` is a FromClause)."""
    return cast(Table, model.__table__)


_BOUND = "realtoros_crm.driver"
"""``session.info`` key: the transaction the session's fast path is bound to, with its
dialect and asyncpg connection (looked up once per transaction, not per statement)."""


async def _bound(session: AsyncSession) -> tuple[Dialect, Any]:
    """The dialect and the asyncpg connection under the session, inside the session's
    transaction (begun if it has not yet sent a statement)."""
    bound = session.info.get(_BOUND)
    current = session.sync_session.get_transaction()
    if bound is not None and bound[0] is current and current.is_active:
        return bound[1], bound[2]
    connection = await session.connection()
    fairy = await connection.get_raw_connection()
    raw: Any = fairy.driver_connection
    if not raw.is_in_transaction():
        await _begin(connection, fairy.dbapi_connection)
        assert raw.is_in_transaction(), "a fast-path statement needs a transaction"
    # Held until the next transaction's first fast-path statement replaces it: a finished
    # transaction is never active, and its identity is never reused while it is held.
    session.info[_BOUND] = (session.sync_session.get_transaction(), connection.dialect, raw)
    return connection.dialect, raw


async def _begin(connection: AsyncConnection, adapted: Any) -> None:
    """BEGIN the transaction SQLAlchemy begins with its first statement: without one, a
    locking SELECT would run on its own and release its locks as soon as it ends.
    SQLAlchemy's asyncpg adapter begins lazily, on its cursor's first execute
    (``_start_transaction`` under ``_execute_mutex``, with the engine's isolation level):
    the same here, without a statement of our own; on an adapter without them, a
    ``SELECT 1`` through SQLAlchemy (one more round trip)."""
    start = getattr(adapted, "_start_transaction", None)
    mutex = getattr(adapted, "_execute_mutex", None)
    if start is None or mutex is None or not hasattr(adapted, "_transaction"):
        await connection.exec_driver_sql("SELECT 1")
        return
    async with mutex:
        if adapted._transaction is None:
            await start()


@lru_cache(maxsize=64)  # a few statements per engine
def _compiled(statement: Executable, dialect: Dialect) -> tuple[str, Any]:
    compiled: Any = cast(ClauseElement, statement).compile(dialect=dialect)
    if compiled.post_compile_params:  # an IN list: bind an array and use ANY instead
        raise ValueError(f"a fast-path statement has an expanding parameter: {compiled}")
    return str(compiled), compiled


async def _prepared(
    session: AsyncSession, statement: Executable, params: dict[str, Any]
) -> tuple[Any, str, list[Any]]:
    dialect, raw = await _bound(session)
    sql, compiled = _compiled(statement, dialect)
    values = compiled.construct_params(params)
    return raw, sql, [values[name] for name in compiled.positiontup]


async def fetch(session: AsyncSession, statement: Executable, **params: Any) -> list[Any]:
    """The rows of ``statement`` with these parameters."""
    raw, sql, args = await _prepared(session, statement, params)
    rows: list[Any] = await raw.fetch(sql, *args)
    return rows


async def fetch_value(session: AsyncSession, statement: Executable, **params: Any) -> Any:
    """The first column of the first row of ``statement`` (None without a row)."""
    raw, sql, args = await _prepared(session, statement, params)
    return await raw.fetchval(sql, *args)


async def execute(session: AsyncSession, statement: Executable, **params: Any) -> None:
    """Run ``statement`` (a write) with these parameters."""
    raw, sql, args = await _prepared(session, statement, params)
    await raw.execute(sql, *args)
