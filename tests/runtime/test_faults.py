"""One place decides whether a failure is an outage, the message's fault, or something else."""

from __future__ import annotations

import socket

import asyncpg
import pytest
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeoutError
from pydantic import BaseModel, ValidationError
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from realtoros_contracts import EnvelopeError
from realtoros_runtime.faults import Fault, Unprocessable, classify


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_a_database_that_refuses_connections_is_an_outage() -> None:
    engine = create_async_engine(f"postgresql+asyncpg://x@127.0.0.1:{_closed_port()}/x")
    with pytest.raises(Exception, match=r"(?i)refused|connect") as caught:
        async with engine.connect() as connection:
            await connection.execute(text("select 1"))
    await engine.dispose()
    assert classify(caught.value) is Fault.TRANSIENT


async def test_a_wrong_statement_on_a_live_database_is_not_an_outage(database_url: str) -> None:
    engine = create_async_engine(database_url.replace("postgresql://", "postgresql+asyncpg://"))
    with pytest.raises(Exception, match="no_such_table") as caught:
        async with engine.connect() as connection:
            await connection.execute(text("select * from no_such_table"))
    await engine.dispose()
    assert classify(caught.value) is Fault.OTHER


@pytest.mark.parametrize(
    "error",
    [
        ConnectionRefusedError(111, "Connection refused"),
        ConnectionResetError(104, "Connection reset by peer"),
        TimeoutError(),
        NatsTimeoutError(),
        NoRespondersError(),
        asyncpg.AdminShutdownError("terminating connection due to administrator command"),
        asyncpg.CannotConnectNowError("the database system is starting up"),
        asyncpg.SerializationError("could not serialize access"),
        asyncpg.ConnectionDoesNotExistError("connection was closed in the middle of operation"),
    ],
    ids=type,
)
def test_dependency_unavailable_is_transient(error: Exception) -> None:
    assert classify(error) is Fault.TRANSIENT


def test_an_outage_wrapped_by_a_handler_is_still_an_outage() -> None:
    def record() -> None:
        try:
            raise ConnectionRefusedError(111, "Connection refused")
        except ConnectionRefusedError as exc:
            raise RuntimeError("could not record the email") from exc

    with pytest.raises(RuntimeError) as caught:
        record()
    assert classify(caught.value) is Fault.TRANSIENT


class _Body(BaseModel):
    count: int


def _validation_error() -> ValidationError:
    try:
        _Body.model_validate({"count": "many"})
    except ValidationError as exc:
        return exc
    raise AssertionError("validated")


@pytest.mark.parametrize(
    "error",
    [_validation_error(), EnvelopeError("unknown schema"), Unprocessable("no such email")],
    ids=type,
)
def test_a_message_that_can_never_succeed_is_permanent(error: Exception) -> None:
    assert classify(error) is Fault.PERMANENT


@pytest.mark.parametrize(
    "error",
    [
        RuntimeError("a bug"),
        KeyError("missing"),
        asyncpg.UniqueViolationError("duplicate key"),
        asyncpg.UndefinedTableError("relation does not exist"),
    ],
    ids=type,
)
def test_anything_else_is_other(error: Exception) -> None:
    assert classify(error) is Fault.OTHER
