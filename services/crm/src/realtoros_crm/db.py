"""The declarative base, the naming convention and the engine."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, MetaData, event, func
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

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


def build_sessions(engine: AsyncEngine) -> Sessions:
    return async_sessionmaker(engine, expire_on_commit=False)


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
