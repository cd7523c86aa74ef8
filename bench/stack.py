"""The system under test, all on 127.0.0.1 and all ours: an embedded NATS and PostgreSQL
in a temp dir, the two fakes and the four services, each its own OS process."""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import asyncpg

from bench.processes import REPO, ServiceProcess
from realtoros_devstack.embedded import EmbeddedNats, EmbeddedPostgres

if TYPE_CHECKING:
    from realtoros_crm.settings import CrmSettings

SENDER = "notifications@mail.realtoros.test"
NAMESPACE = "bench"
SERVICES = ("crm", "scheduler", "composer", "mailer")


@dataclass
class Fake:
    name: str
    proc: subprocess.Popen[bytes]
    url: str

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def start_fake(name: str, module: str, *args: str) -> Fake:
    proc = subprocess.Popen([sys.executable, "-m", module, *args], cwd=REPO, stdout=subprocess.PIPE)
    assert proc.stdout is not None
    line = proc.stdout.readline().decode().strip()
    if not line.startswith("ready "):
        proc.kill()
        raise RuntimeError(f"{name} did not start: {line!r}")
    return Fake(name, proc, line.split(" ", 1)[1])


@dataclass
class Servers:
    """NATS and PostgreSQL of our own, on free ports."""

    root: Path
    nats: EmbeddedNats
    postgres: EmbeddedPostgres

    @property
    def pids(self) -> dict[str, int]:
        assert self.nats.proc is not None
        assert self.postgres.proc is not None
        return {"nats": self.nats.proc.pid, "postgres": self.postgres.proc.pid}

    async def create_database(self, name: str) -> str:
        conn = await asyncpg.connect(self.postgres.url)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()
        url = self.postgres.url_for(name)
        migrate(url)
        return url


@contextmanager
def servers() -> Iterator[Servers]:
    root = Path(tempfile.mkdtemp(prefix="realtoros-bench-"))
    nats = EmbeddedNats(root / "nats").start()
    try:
        postgres = EmbeddedPostgres(root / "postgres").start()
        try:
            yield Servers(root, nats, postgres)
        finally:
            postgres.stop()
    finally:
        nats.stop()
        if not os.environ.get("REALTOROS_BENCH_KEEP"):
            shutil.rmtree(root, ignore_errors=True)


def migrate(database_url: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "realtoros_crm", "migrate"],
        cwd=REPO,
        env={**os.environ, "DATABASE_URL": database_url, "REALTOROS_SECRETS_DIR": "/nonexistent"},
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise RuntimeError(f"migration failed: {done.stdout[-2000:]}{done.stderr[-2000:]}")


@dataclass
class Loop:
    """The four services and the fakes they talk to."""

    services: dict[str, ServiceProcess]
    llm: Fake
    ses: Fake
    log_dir: Path
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def service_pids(self) -> dict[str, int]:
        pids = {}
        for name, proc in self.services.items():
            assert proc.proc is not None
            pids[name] = proc.proc.pid
        return pids

    @property
    def fake_pids(self) -> dict[str, int]:
        return {"fake_llm": self.llm.proc.pid, "fake_ses": self.ses.proc.pid}

    def revive(self) -> list[str]:
        """Start again any service that is no longer running (someone else's cleanup on a
        shared machine can end it); says which."""
        dead = [n for n, p in self.services.items() if p.proc is None or p.proc.poll() is not None]
        for name in dead:
            self.restart(name, {})
        return dead

    def restart(self, name: str, env: dict[str, str]) -> None:
        old = self.services[name]
        old.stop()
        new = ServiceProcess(
            old.service, {**old.env, **env}, self.log_dir, name=old.name, port=old.port
        )
        self.services[name] = new.start()
        new.wait_ready(60)


def service_env(
    srv: Servers, database_url: str, llm_url: str, ses_url: str
) -> dict[str, dict[str, str]]:
    common = {"NATS_URL": srv.nats.url, "NATS_NAMESPACE": NAMESPACE, "LOG_LEVEL": "INFO"}
    return {
        "crm": {**common, "DATABASE_URL": database_url, "JWT_SECRET": secrets.token_hex(32)},
        "scheduler": {**common},
        "composer": {**common, "OPENAI_API_KEY": "bench-key", "OPENAI_BASE_URL": llm_url},
        "mailer": {
            **common,
            "MAIL_TRANSPORT": "ses",
            "SES_ENDPOINT_URL": ses_url,
            "SES_FROM_ADDRESS": SENDER,
            "AWS_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": "bench",
            "AWS_SECRET_ACCESS_KEY": "bench",
            "MAILER_ALLOW_RESERVED_DOMAINS": "true",  # the bench's clients are example.com
            # SES_MAX_SEND_RATE models the SES account's quota (default 14/s per replica);
            # the fake SES has none, and the benchmark measures the system, not the quota.
            "SES_MAX_SEND_RATE": "10000",
        },
    }


@contextmanager
def loop(srv: Servers, database_url: str, *, llm_latency: float = 0.0) -> Iterator[Loop]:
    log_dir = srv.root / f"logs-{int(time.time())}"
    log_dir.mkdir()
    llm = start_fake("fake_llm", "bench.fake_llm", "--no-record", "--latency", str(llm_latency))
    ses = start_fake("fake_ses", "bench.fake_ses")
    envs = service_env(srv, database_url, llm.url, ses.url)
    procs = {name: ServiceProcess(name, envs[name], log_dir) for name in SERVICES}
    try:
        for proc in procs.values():
            proc.start()
        for proc in procs.values():
            proc.wait_ready(300)  # a loaded shared machine imports slowly
        yield Loop(procs, llm, ses, log_dir)
    finally:
        for proc in procs.values():
            proc.stop()
        llm.stop()
        ses.stop()


def in_process_crm_settings(database_url: str, nats_url: str) -> CrmSettings:
    """Settings of a CRM app a benchmark builds in its own process (a fresh namespace,
    logs at WARNING)."""
    from realtoros_crm.settings import CrmSettings

    return CrmSettings.model_validate(
        {
            "database_url": database_url,
            "nats_url": nats_url,
            "nats_namespace": f"bench{uuid.uuid4().hex[:8]}",
            "jwt_secret": "bench-jwt-secret-that-is-long-enough-0123456789",
            "log_level": "WARNING",
        }
    )
