"""The declarative base, the naming convention and the engine."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, DateTime, MetaData, event, func, select
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import (
    DeclarativeBase,
    InstrumentedAttribute,
    Mapped,
    Session,
    SessionTransaction,
    mapped_column,
)

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

Sessions = async_sessionmaker[AsyncSession]
CONNECT_TIMEOUT_SECONDS = 10


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: DateTime(timezone=True)}


M = TypeVar("M", bound=Base)


async def owned_rows(
    session: AsyncSession,
    model: type[M],
    agent_id: uuid.UUID,
    *order_by: ColumnElement[Any] | InstrumentedAttribute[Any],
) -> Sequence[M]:
    """Every row of ``model`` (a table with ``agent_id``) the agent owns, in ``order_by``."""
    statement = select(model).where(model.__table__.c.agent_id == agent_id).order_by(*order_by)
    return (await session.scalars(statement)).all()


async def owned_row(
    session: AsyncSession,
    model: type[M],
    agent_id: uuid.UUID,
    row_id: uuid.UUID,
    *,
    lock: bool = False,
) -> M | None:
    """The row ``row_id`` of ``model`` if the agent owns it (``lock``: FOR UPDATE), else None:
    another agent's row is not found, never forbidden."""
    table = model.__table__
    statement = select(model).where(table.c.id == row_id, table.c.agent_id == agent_id)
    if lock:
        statement = statement.with_for_update()
    return (await session.scalars(statement)).one_or_none()


async def name_taken(
    session: AsyncSession,
    model: type[Base],
    agent_id: uuid.UUID,
    name: str,
    *,
    but: uuid.UUID | None = None,
) -> bool:
    """Whether another of the agent's rows of ``model`` than ``but`` is called ``name``,
    ignoring case (Python's lower-casing, not the database's)."""
    table = model.__table__
    statement = select(table.c.id, table.c.name).where(table.c.agent_id == agent_id)
    wanted = name.lower()
    return any(
        row.name.lower() == wanted and row.id != but for row in await session.execute(statement)
    )


async def add_row(session: AsyncSession, row: M) -> M:
    """Insert ``row`` now (its defaults and constraint errors come back here)."""
    session.add(row)
    await session.flush()
    return row


async def delete_row(session: AsyncSession, row: Base) -> None:
    await session.delete(row)
    await session.flush()


def uuid_pk() -> Mapped[uuid.UUID]:
    return mapped_column(primary_key=True, default=uuid.uuid4)


def created_at_column() -> Mapped[datetime]:
    return mapped_column(server_default=func.now())


def build_engine(database_url: str) -> AsyncEngine:
    engine = create_async_engine(
        database_url,
        pool_size=10,
        max_overflow=10,
        # A failover that drops packets must not hold a request for asyncpg's default 60 s.
        connect_args={"timeout": CONNECT_TIMEOUT_SECONDS},
    )
    event.listen(engine.sync_engine, "checkout", _closed_connections_are_replaced)
    return engine


def _closed_connections_are_replaced(dbapi_connection: Any, record: Any, proxy: Any) -> None:
    """Instead of ``pool_pre_ping`` (BEGIN, a query and ROLLBACK: three round trips on
    every checkout, a third of a short request's work): a connection the server has closed
    (a restart, a failover, an idle timeout) is known to asyncpg already, without a round
    trip, and the pool replaces it (it retries a checkout that raises this). A connection
    that dies in the middle of a request fails that request as transient (a 503, a retried
    message) and SQLAlchemy then replaces every connection of the pool."""
    if dbapi_connection.driver_connection.is_closed():
        raise DisconnectionError("the server closed this connection")


class CrmSession(Session):
    """The sync session under every ``AsyncSession`` of the CRM: it runs the callbacks
    registered with ``after_commit`` once its transaction commits."""


_AFTER_COMMIT = "realtoros.after_commit"
_DISCARD = "realtoros.discard"


def after_commit(session: AsyncSession, callback: Callable[[], None]) -> None:
    """Call ``callback`` (once) after the session's transaction commits; never if it rolls
    back (e.g. wake the outbox relay: the rows are visible to it only then)."""
    callbacks: list[Callable[[], None]] = session.info.setdefault(_AFTER_COMMIT, [])
    if callback not in callbacks:
        callbacks.append(callback)


def _run_after_commit(session: Session) -> None:
    for callback in session.info.pop(_AFTER_COMMIT, ()):
        callback()


def _forget_after_rollback(session: Session, previous: SessionTransaction) -> None:
    if previous.parent is None:  # the transaction, not a savepoint inside it
        session.info.pop(_AFTER_COMMIT, None)


event.listen(CrmSession, "after_commit", _run_after_commit)
event.listen(CrmSession, "after_soft_rollback", _forget_after_rollback)


def discard(session: AsyncSession) -> None:
    """The request answers a refusal without raising (a form shown again with its errors):
    the entrypoint rolls back instead of committing what the handler wrote."""
    session.info[_DISCARD] = True


def discarded(session: AsyncSession) -> bool:
    """Whether ``discard`` was called (and forget it)."""
    return bool(session.info.pop(_DISCARD, False))


def build_sessions(engine: AsyncEngine) -> Sessions:
    return async_sessionmaker(engine, expire_on_commit=False, sync_session_class=CrmSession)


def in_list(values: tuple[str, ...]) -> str:
    """The SQL ``IN`` list of a CHECK constraint over fixed string values."""
    return ", ".join(f"'{value}'" for value in values)


async def copy_rows(
    session: AsyncSession, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]
) -> None:
    """Append ``rows`` to ``table`` with COPY, in the session's transaction: many rows at a
    fraction of the cost of INSERTs. It bypasses the ORM: flush first what the rows refer
    to, and give every column without a server default its value."""
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    driver: Any = raw.driver_connection
    # The session must have begun its transaction (it has, after any query): a COPY outside
    # one would commit on its own.
    assert driver.is_in_transaction(), "copy_rows needs a transaction in progress"
    await driver.copy_records_to_table(table, records=rows, columns=list(columns))
