"""The pool hands out live connections without a round trip to check them: one the server
has closed (a restart, a failover, an idle timeout) is replaced at checkout."""

from __future__ import annotations

import asyncio

import asyncpg

from realtoros_crm.db import build_engine
from realtoros_crm.settings import normalise_database_url


async def test_a_connection_the_server_closed_is_replaced_at_checkout(database_url: str) -> None:
    engine = build_engine(normalise_database_url(database_url))
    try:
        async with engine.connect() as conn:
            first = await conn.exec_driver_sql("SELECT pg_backend_pid()")
            pid = first.scalar_one()
            raw = (await conn.get_raw_connection()).driver_connection
            assert raw is not None
        admin = await asyncpg.connect(database_url)
        try:
            assert await admin.fetchval("SELECT pg_terminate_backend($1)", pid)
        finally:
            await admin.close()
        for _ in range(200):  # asyncpg learns of it as its event loop reads the socket
            if raw.is_closed():
                break
            await asyncio.sleep(0.01)
        assert raw.is_closed()
        async with engine.connect() as conn:  # no error: a fresh connection
            again = await conn.exec_driver_sql("SELECT pg_backend_pid()")
            assert again.scalar_one() != pid
    finally:
        await engine.dispose()
