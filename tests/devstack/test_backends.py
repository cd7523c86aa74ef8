"""The runner's servers: embedded ones keep their data across runs; the database is created
once; servers from the environment are used as they are."""

from __future__ import annotations

import uuid
from pathlib import Path

import asyncpg
import nats
import pytest

from realtoros_devstack import natsauth
from realtoros_devstack.backends import Backends
from realtoros_devstack.database import ensure_database
from realtoros_devstack.embedded import EmbeddedPostgres, free_port
from realtoros_devstack.stack import DevConfig, resolve_config
from tests.support.backends import Backend, with_database


def embedded_config(data_dir: Path) -> DevConfig:
    env = {"REALTOROS_DEV_NATS_PORT": str(free_port()), "REALTOROS_DEV_PG_PORT": str(free_port())}
    return resolve_config(env, data_dir=data_dir)


async def test_embedded_servers_keep_their_data_across_runs(data_dir: Path) -> None:
    config = embedded_config(data_dir)
    said: list[str] = []
    first = Backends(config, {}, said.append)
    try:
        first.start()
        assert first.nats_url == f"nats://127.0.0.1:{config.nats_port}"
        assert first.database_url == f"postgresql://postgres@127.0.0.1:{config.pg_port}/realtoros"
        assert await ensure_database(first.database_url) is True
        conn = await asyncpg.connect(first.database_url)
        await conn.execute("CREATE TABLE kept (note text); INSERT INTO kept VALUES ('hello')")
        await conn.close()
        admin = first.nats_credentials(natsauth.ADMIN)
        assert admin is not None, "the embedded server has users (natsauth)"
        nc = await nats.connect(first.nats_url, user=admin[0], password=admin[1])
        kv = await nc.jetstream().create_key_value(bucket="kept")
        await kv.put("note", b"hello")
        await nc.close()
        assert first.dead() is None
    finally:
        first.stop()
    assert (config.data_dir / "nats" / "jetstream").is_dir()
    assert (config.data_dir / "postgres" / "pgdata" / "PG_VERSION").is_file()

    second = Backends(config, {}, said.append)
    try:
        second.start()
        assert second.database_url is not None
        assert second.nats_url is not None
        assert await ensure_database(second.database_url) is False
        conn = await asyncpg.connect(second.database_url)
        assert await conn.fetchval("SELECT note FROM kept") == "hello"
        await conn.close()
        admin = second.nats_credentials(natsauth.ADMIN)
        assert admin is not None
        nc = await nats.connect(second.nats_url, user=admin[0], password=admin[1])
        entry = await (await nc.jetstream().key_value("kept")).get("note")
        assert entry.value == b"hello"
        await nc.close()
    finally:
        second.stop()
    assert any("starting NATS" in line for line in said)


async def test_servers_from_the_environment_are_used_and_left_running(
    data_dir: Path, nats_url: str, postgres: Backend
) -> None:
    database = f"dev_{uuid.uuid4().hex[:8]}"
    url = with_database(postgres.url, database)
    config = embedded_config(data_dir)
    backends = Backends(config, {"NATS_URL": nats_url, "DATABASE_URL": url}, lambda _: None)
    backends.start()
    assert (backends.nats, backends.postgres) == (None, None)
    assert (backends.nats_url, backends.database_url) == (nats_url, url)
    try:
        assert await ensure_database(url.replace("postgresql://", "postgresql+asyncpg://"))
        assert await ensure_database(url) is False
        conn = await asyncpg.connect(url)
        assert await conn.fetchval("SELECT current_database()") == database
        await conn.close()
    finally:
        backends.stop()
        admin = await asyncpg.connect(postgres.url)
        await admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        await admin.close()
    assert not (config.data_dir / "nats").exists()


async def test_only_services_without_a_database_start_no_postgresql(data_dir: Path) -> None:
    config = resolve_config(
        {"REALTOROS_DEV_NATS_PORT": str(free_port())},
        data_dir=data_dir,
        only=("scheduler",),
    )
    backends = Backends(config, {}, lambda _: None)
    try:
        backends.start()
        assert backends.nats is not None
        assert backends.postgres is None
        assert backends.database_url is None
    finally:
        backends.stop()


@pytest.mark.parametrize("kind", ["nats", "postgres"])
async def test_an_embedded_server_that_dies_is_noticed(data_dir: Path, kind: str) -> None:
    config = embedded_config(data_dir)
    backends = Backends(config, {}, lambda _: None)
    try:
        backends.start()
        server = backends.nats if kind == "nats" else backends.postgres
        assert server is not None
        assert server.proc is not None
        server.proc.kill()
        server.proc.wait()
        problem = backends.dead()
        assert problem is not None
        assert ("NATS" if kind == "nats" else "PostgreSQL") in problem
    finally:
        backends.stop()


async def test_a_commit_survives_the_embedded_postgresql_being_killed(data_dir: Path) -> None:
    # The chaos suite once lost an acknowledged commit to a PostgreSQL restart: the embedded
    # server ran with synchronous_commit=off, which acknowledges before the WAL is written.
    server = EmbeddedPostgres(data_dir / "postgres", port=free_port()).start()
    try:
        conn = await asyncpg.connect(server.url)
        await conn.execute("CREATE TABLE acked (n int)")
        for n in range(300):  # one transaction each; the kill follows the last at once
            await conn.execute("INSERT INTO acked VALUES ($1)", n)
        server.kill()
        conn.terminate()
        server.start()
        conn = await asyncpg.connect(server.url)
        assert await conn.fetchval("SELECT count(*) FROM acked") == 300
        await conn.close()
    finally:
        server.stop()
