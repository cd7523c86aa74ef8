"""The Celery peer under the same load: its beat and worker as processes on the machine's
Redis (a database number of our own, emptied before and after), our PostgreSQL (a database
of its own with the CRM's schema) and the same two fakes."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil
import redis

from bench import loopbench
from bench.celery_peer.app import QUEUE
from bench.processes import REPO
from bench.stack import Fake, Servers, start_fake

REDIS = "redis://127.0.0.1:6379"


def free_redis_db() -> int:
    """The first of databases 11..15 that holds no key (we empty it when we are done)."""
    for db in range(11, 16):
        client = redis.Redis.from_url(f"{REDIS}/{db}")
        if client.dbsize() == 0:
            return db
    raise RuntimeError("no empty Redis database among 11..15")


def redis_server_pid() -> int | None:
    for proc in psutil.process_iter(["name"]):
        if proc.info["name"] == "redis-server":
            return proc.pid
    return None


@dataclass
class Peer:
    beat: subprocess.Popen[bytes]
    worker: subprocess.Popen[bytes]
    llm: Fake
    ses: Fake
    redis_pid: int | None

    @property
    def pids(self) -> dict[str, int]:
        pids = {"celery_beat": self.beat.pid, "celery_worker": self.worker.pid}
        if self.redis_pid is not None:
            pids["redis (shared server)"] = self.redis_pid
        return pids

    @property
    def fake_pids(self) -> dict[str, int]:
        return {"fake_llm": self.llm.proc.pid, "fake_ses": self.ses.proc.pid}


def _celery(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with open(log, "ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "bench.celery_peer.app", *args],
            cwd=REPO,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextmanager
def peer(srv: Servers, database_url: str, concurrency: int) -> Iterator[Peer]:
    db = free_redis_db()
    llm = start_fake("fake_llm", "bench.fake_llm", "--no-record")
    ses = start_fake("fake_ses", "bench.fake_ses")
    env = {
        **os.environ,
        "PEER_BROKER_URL": f"{REDIS}/{db}",
        "PEER_DATABASE_URL": database_url.replace("postgresql://", "postgresql+psycopg://"),
        "PEER_LLM_URL": llm.url,
        "PEER_SES_URL": ses.url,
    }
    logs = srv.root / "celery"
    logs.mkdir(exist_ok=True)
    worker = _celery(
        [
            "worker",
            "--loglevel",
            "INFO",
            "--concurrency",
            str(concurrency),
            "--queues",
            f"{QUEUE},{QUEUE}-ticks",
            "--without-gossip",
            "--without-mingle",
        ],
        env,
        logs / "worker.log",
    )
    beat = _celery(
        ["beat", "--loglevel", "INFO", "--schedule", str(logs / "beat-schedule")],
        env,
        logs / "beat.log",
    )
    try:
        yield Peer(beat, worker, llm, ses, redis_server_pid())
    finally:
        _stop(beat)
        _stop(worker)
        llm.stop()
        ses.stop()
        redis.Redis.from_url(f"{REDIS}/{db}").flushdb()


async def run(
    srv: Servers, n: int, rate: float, duration: float, concurrency: int
) -> dict[str, Any]:
    """Throughput and latency of the peer, measured exactly as the services' are."""
    url = await srv.create_database("peer")
    with peer(srv, url, concurrency) as p:
        view = loopbench.View(services=p.pids, fakes=p.fake_pids)
        out_warm = await loopbench.warm_up(url)
        out: dict[str, Any] = {
            "worker_concurrency": concurrency,
            "pool": "prefork",
            "warm_up": out_warm,
        }
        out["throughput"] = await loopbench.throughput_of(srv, view, url, n)
        out["latency"] = await loopbench.latency_of(srv, view, url, rate, duration)
        out["idle_rss_mb"] = {
            name: round(sum(_tree_rss(pid)), 1)
            for name, pid in p.pids.items()
            if not name.startswith("redis")
        }
    return out


def _tree_rss(pid: int) -> list[float]:
    try:
        root = psutil.Process(pid)
        procs = [root, *root.children(recursive=True)]
        return [proc.memory_info().rss / 1_048_576 for proc in procs]
    except psutil.NoSuchProcess:
        return [0.0]
