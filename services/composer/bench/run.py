"""Throughput of one composer process against an LLM that answers in ``--latency`` seconds.

    .venv/bin/python services/composer/bench/run.py --tasks 2000 --latency 2

Starts an embedded NATS server (or uses ``NATS_URL``), the fake OpenAI-compatible server
(``bench/fake_llm.py``) and one composer (``python -m realtoros_composer``) as
processes, publishes ``--tasks`` TaskDue and waits for as many EmailComposed. Reports the
LLM requests in flight at once (the fake's ``max_in_flight``) and emails per second from
the first TaskDue published to the last EmailComposed. Run from the repository root.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
import nats

REPO = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(REPO))

from bench.processes import ServiceProcess  # noqa: E402
from bench.samples import task_due  # noqa: E402

from realtoros_contracts import Namespace, TaskDue, encode, envelope_headers  # noqa: E402
from realtoros_devstack.embedded import EmbeddedNats, free_port  # noqa: E402
from realtoros_runtime.streams import ensure_streams  # noqa: E402


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start_fake(latency: float) -> tuple[subprocess.Popen[str], str]:
    port = free_port()
    command = [sys.executable, "-m", "bench.fake_llm", "--port", str(port)]
    command += ["--latency", str(latency), "--no-record"]
    proc = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line.startswith("ready "):
        raise RuntimeError(f"the fake LLM did not start: {line!r}")
    return proc, f"http://127.0.0.1:{port}"


async def publish_tasks(js: nats.js.JetStreamContext, ns: Namespace, count: int) -> None:
    subject, stream = ns.subject(TaskDue), ns.stream_name("crm")

    async def one(i: int) -> None:
        task = task_due()
        headers = envelope_headers(task, event_id=f"bench:{i}", source="realtoros/crm")
        await js.publish(subject, encode(task), headers=headers, stream=stream, timeout=30)

    for start in range(0, count, 200):
        await asyncio.gather(*(one(i) for i in range(start, min(count, start + 200))))


async def wait_composed(js: nats.js.JetStreamContext, ns: Namespace, count: int) -> float:
    stream = ns.stream_name("composer")
    while (await js.stream_info(stream)).state.messages < count:  # noqa: ASYNC110 - polls NATS
        await asyncio.sleep(0.2)
    return time.monotonic()


async def bench(nats_url: str, fake_url: str, args: argparse.Namespace, logs: Path) -> None:
    ns = Namespace(f"bench{uuid.uuid4().hex[:8]}")
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    await ensure_streams(js, ns)
    env = {
        "NATS_URL": nats_url,
        "NATS_NAMESPACE": ns.name,
        "COMPOSER_MODE": "llm",
        "OPENAI_API_KEY": "bench-key",
        "OPENAI_BASE_URL": f"{fake_url}/v1",
        "LLM_MAX_CONCURRENCY": str(args.concurrency),
        "LLM_TIMEOUT_SECONDS": "60",
        "LOG_LEVEL": "WARNING",
    }
    composer = ServiceProcess("composer", env, logs).start()
    try:
        await asyncio.to_thread(composer.wait_ready, 120)
        assert composer.proc is not None
        cpu_before = cpu_seconds(composer.proc.pid)
        started = time.monotonic()
        await publish_tasks(js, ns, args.tasks)
        published = time.monotonic()
        finished = await wait_composed(js, ns, args.tasks)
        cpu = cpu_seconds(composer.proc.pid) - cpu_before
        async with httpx.AsyncClient() as http:
            stats = (await http.get(f"{fake_url}/_counts")).json()
    finally:
        composer.stop()
        await nc.close()
    report(args, published - started, finished - started, cpu, stats)


def report(
    args: argparse.Namespace, publishing: float, elapsed: float, cpu: float, stats: dict[str, int]
) -> None:
    python = platform.python_version()
    per_email = cpu / args.tasks
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {python}")
    print(f"{args.tasks} TaskDue, LLM latency {args.latency}s, concurrency {args.concurrency}")
    print(f"published in {publishing:.1f}s; all composed in {elapsed:.1f}s")
    print(f"emails/s: {args.tasks / elapsed:.1f}")
    print(f"LLM requests in flight at most: {stats['max_in_flight']}")
    print(f"LLM completions: {stats['completions']}")
    print(
        f"composer CPU: {cpu:.1f}s, {per_email * 1000:.1f} ms per email "
        f"(one free core: at most {1 / per_email:.0f} emails/s); load average "
        f"{os.getloadavg()[0]:.1f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=2000)
    parser.add_argument("--latency", type=float, default=2.0)
    parser.add_argument("--concurrency", type=int, default=256)
    args = parser.parse_args()
    fake, fake_url = start_fake(args.latency)
    with tempfile.TemporaryDirectory(prefix="composer-bench-") as tmp:
        server = None
        nats_url = os.environ.get("NATS_URL")
        if not nats_url:
            server = EmbeddedNats(Path(tmp) / "nats").start()
            nats_url = server.url
        try:
            asyncio.run(bench(nats_url, fake_url, args, Path(tmp)))
        finally:
            if server is not None:
                server.stop()
            fake.terminate()
            fake.wait(10)


if __name__ == "__main__":
    main()
