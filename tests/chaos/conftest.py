"""The chaos suite's own servers: NATS and PostgreSQL that the tests may kill and restart
(same ports, same data), never the session's or the machine's shared ones: one pair (and
one fake LLM) per module; each cluster has its own namespace and database (a copy of one
migrated once per module)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from realtoros_devstack.embedded import EmbeddedNats, EmbeddedPostgres, free_port
from tests.support.backends import admin
from tests.support.fake_llm import launched
from tests.support.processes import REPO


@dataclass
class ChaosServers:
    root: Path
    nats: EmbeddedNats
    postgres: EmbeddedPostgres
    migrated: str | None = None  # the template database, once migrated

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
    """A new migrated database on the chaos PostgreSQL; its ``postgresql://`` URL. The
    migrations run once per session (into a template); each database is a copy."""
    if servers.migrated is None:
        template = "chaos_migrated_template"
        admin(servers.postgres.url, f'CREATE DATABASE "{template}"')
        done = subprocess.run(
            [sys.executable, "-m", "realtoros_crm", "migrate"],
            env={**os.environ, "DATABASE_URL": servers.postgres.url_for(template)},
            cwd=REPO,
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            raise RuntimeError(f"migrations failed:\n{done.stdout}\n{done.stderr}")
        servers.migrated = template
    admin(servers.postgres.url, f'CREATE DATABASE "{name}" TEMPLATE "{servers.migrated}"')
    return servers.postgres.url_for(name)


@pytest.fixture(scope="module")
def chaos_llm(chaos_servers: ChaosServers) -> Iterator[str]:
    """The fake LLM as its own process; its OPENAI_BASE_URL."""
    with launched(chaos_servers.root, latency=0.05) as url:
        yield f"{url}/v1"
