"""Test session set-up: real PostgreSQL and NATS (see tests/support/backends.py), a fresh
migrated database and a fresh NATS namespace for every test that asks for one."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import nats
import pytest
from faststream.nats import NatsBroker
from nats.aio.client import Client as NATS

from realtoros_contracts import Namespace
from realtoros_runtime.publisher import EventPublisher
from tests.support.backends import Backend, admin, nats_backend, postgres_backend, with_database

RUN_ID = uuid.uuid4().hex[:8]
# Test clients live at example.com; every mailer the tests start (in-process or as a
# process, which inherits this) may send there. tests/mailer/test_reserved.py turns it off.
os.environ.setdefault("MAILER_ALLOW_RESERVED_DOMAINS", "true")
REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp(f"realtoros-{RUN_ID}")


@pytest.fixture(scope="session")
def servers_dir() -> Iterator[Path]:
    """Data of the embedded servers: outside pytest's temp root, which pytest keeps at mode
    0700 (the embedded PostgreSQL runs as another user when the tests run as root)."""
    path = Path(tempfile.mkdtemp(prefix=f"realtoros-servers-{RUN_ID}-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres(servers_dir: Path) -> Iterator[Backend]:
    with postgres_backend(servers_dir) as backend:
        yield backend


@pytest.fixture(scope="session")
def nats_url(servers_dir: Path) -> Iterator[str]:
    with nats_backend(servers_dir) as backend:
        yield backend.url


@pytest.fixture(scope="session")
def migrated_template(postgres: Backend) -> Iterator[str]:
    """A database migrated once per session; each test's database is a copy of it."""
    name = f"rt_{RUN_ID}_template"
    admin(postgres.url, f'CREATE DATABASE "{name}"')
    url = with_database(postgres.url, name)
    env = {**os.environ, "DATABASE_URL": url}
    done = subprocess.run(
        [sys.executable, "-m", "realtoros_crm", "migrate"],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise RuntimeError(f"migrations failed:\n{done.stdout}\n{done.stderr}")
    yield name
    admin(postgres.url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


_db_counter = iter(range(1_000_000))


@pytest.fixture
def database_url(postgres: Backend, migrated_template: str) -> Iterator[str]:
    """A fresh, migrated database of this test's own (``postgresql://…``)."""
    name = f"rt_{RUN_ID}_{next(_db_counter)}"
    admin(postgres.url, f'CREATE DATABASE "{name}" TEMPLATE "{migrated_template}"')
    yield with_database(postgres.url, name)
    admin(postgres.url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def namespace() -> Namespace:
    """A NATS namespace of this test's own: its subjects, streams and buckets."""
    return Namespace(f"t{RUN_ID}{uuid.uuid4().hex[:6]}")


@pytest.fixture
async def nats_client(nats_url: str, namespace: Namespace) -> AsyncIterator[NATS]:
    """A plain nats-py connection; the test's streams and buckets are deleted afterwards."""
    nc = await nats.connect(nats_url)
    yield nc
    js = nc.jetstream()
    for spec in namespace.streams():
        with contextlib.suppress(Exception):
            await js.delete_stream(spec.name)
    try:
        streams = await js.streams_info()
        for info in streams:
            if info.config.name and info.config.name.startswith(f"KV_{namespace.name}_"):
                await js.delete_stream(info.config.name)
    except Exception:
        pass
    await nc.close()


@pytest.fixture
async def publisher(nats_url: str, namespace: Namespace) -> AsyncIterator[EventPublisher]:
    """Publishes events as another service would, on the test's namespace."""
    broker = NatsBroker(nats_url)
    await broker.connect()
    yield EventPublisher(broker, namespace, source="realtoros/tests")
    await broker.stop()
