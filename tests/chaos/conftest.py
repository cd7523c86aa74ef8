"""The chaos suite's own servers: NATS and PostgreSQL that the tests may kill and restart
(same ports, same data), never the session's or the machine's shared ones."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import pytest

from realtoros_devstack.embedded import EmbeddedNats, EmbeddedPostgres, free_port, wait_for_port
from tests.support.processes import REPO


@dataclass
class ChaosServers:
    root: Path
    nats: EmbeddedNats
    postgres: EmbeddedPostgres

    def restart_nats(self) -> None:
        self.nats.kill()
        self.nats.start()

    def restart_postgres(self) -> None:
        self.postgres.kill()
        self.postgres.start()


@pytest.fixture(scope="module")
def chaos_servers() -> Iterator[ChaosServers]:
    # Outside pytest's 0700 temp root: the embedded PostgreSQL may run as another user.
    root = Path(tempfile.mkdtemp(prefix="realtoros-chaos-"))
    root.chmod(0o755)
    nats_server = EmbeddedNats(root / "nats", port=free_port()).start()
    postgres = EmbeddedPostgres(root / "postgres", port=free_port())
    try:
        postgres.start()
        yield ChaosServers(root, nats_server, postgres)
    finally:
        nats_server.stop()
        postgres.stop()
        shutil.rmtree(root, ignore_errors=True)


def create_database(servers: ChaosServers, name: str) -> str:
    """A new migrated database on the chaos PostgreSQL; its ``postgresql://`` URL."""

    async def create() -> None:
        conn = await asyncpg.connect(servers.postgres.url)
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()

    asyncio.run(create())
    url = servers.postgres.url_for(name)
    done = subprocess.run(
        [sys.executable, "-m", "realtoros_crm", "migrate"],
        env={**os.environ, "DATABASE_URL": url},
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise RuntimeError(f"migrations failed:\n{done.stdout}\n{done.stderr}")
    return url


@pytest.fixture(scope="module")
def chaos_llm(chaos_servers: ChaosServers) -> Iterator[str]:
    """The fake LLM as its own process; its OPENAI_BASE_URL."""
    port = free_port()
    log = open(chaos_servers.root / "fake-llm.log", "wb")  # noqa: SIM115
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.support.fake_llm", "--port", str(port), "--latency", "0.05"],
        cwd=REPO,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_for_port(port, 20, proc)
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        proc.terminate()
        proc.wait(10)
        log.close()
