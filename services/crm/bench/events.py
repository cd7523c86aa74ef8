"""The CPU the CRM spends recording a follow-up's EmailComposed and EmailSent.

    .venv/bin/python services/crm/bench/events.py                      # 2,000 of each
    .venv/bin/python services/crm/bench/events.py --n 5000 --no-runs   # tasks outside plans
    .venv/bin/python services/crm/bench/events.py --profile /tmp/events.prof
    .venv/bin/python services/crm/bench/events.py --via-nats           # the app's consumers

Starts an embedded PostgreSQL and NATS in a temp dir (``bench/stack.py``), writes ``--n``
clients, tasks and emails with COPY as the claim leaves them (task and email
``composing``; with plan runs by default, each run with one more task still pending, as
four steps of five are), then applies ``--n`` EmailComposed and then ``--n`` EmailSent
through the CRM consumers' own handlers (inbox row and effect in one transaction per event),
each given a stand-in message with the envelope headers: FastStream's stack and NATS are
left out. ``--via-nats`` instead builds the CRM app in this process (``build_app``, its
lifespan: every consumer and the relay) and has a child process
(``events_publisher.py``) publish the events, so the figure is the consumer's whole cost
(FastStream, acks, logging at WARNING) but not the publisher's. Works on an older tree too
(``PYTHONPATH`` first), to compare before and after.
Reports CPU-ms per event of this process (``time.process_time``) and of PostgreSQL (the
postmaster's tree, from /proc), and checks every row came out as the loop expects.
``--profile FILE`` writes a cProfile of both phases (``python -m pstats FILE``).
Run from the repository root.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import logging
import os
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

REPO = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(REPO))

from bench import stack  # noqa: E402
from bench.machine import cpu_model, git_commit  # noqa: E402
from bench.procstat import tree_cpu_seconds  # noqa: E402
from services.crm.bench.event_rows import check, seed, until_emails  # noqa: E402

from realtoros_contracts import (  # noqa: E402
    DeliveryContext,
    EmailComposed,
    EmailSent,
    Namespace,
    envelope_headers,
)
from realtoros_crm.app import build_app  # noqa: E402
from realtoros_crm.consumers import COMPOSED_DURABLE, SENT_DURABLE, recordings  # noqa: E402
from realtoros_crm.db import build_engine, build_sessions  # noqa: E402
from realtoros_crm.messaging.recording import handler_of  # noqa: E402


def delivery() -> DeliveryContext:
    return DeliveryContext(
        to_email="c@example.org", to_name="C", from_name="A", reply_to="a@example.com"
    )


Apply = Callable[[int], Awaitable[None]]


async def phase(
    n: int, apply: Apply, pg_pid: int, profiler: cProfile.Profile | None
) -> dict[str, float]:
    pg_before, me_before, started = tree_cpu_seconds(pg_pid), time.process_time(), time.monotonic()
    if profiler:
        profiler.enable()
    for i in range(n):
        await apply(i)
    if profiler:
        profiler.disable()
    return {
        "crm_ms": (time.process_time() - me_before) * 1000 / n,
        "pg_ms": (tree_cpu_seconds(pg_pid) - pg_before) * 1000 / n,
        "wall_ms": (time.monotonic() - started) * 1000 / n,
    }


async def bench(args: argparse.Namespace, srv: stack.Servers) -> dict[str, Any]:
    url = await srv.create_database("crm_events")
    agent, ids = await seed(url, args.n + args.warmup, not args.no_runs)
    engine = build_engine(url.replace("postgresql://", "postgresql+asyncpg://", 1))
    if args.no_pre_ping:  # what the pool's ping (BEGIN; ";"; ROLLBACK per checkout) costs
        engine.pool._pre_ping = False
    sessions = build_sessions(engine)
    handlers = {
        r.durable: handler_of(sessions, lambda: datetime.now(UTC), r)
        for r in recordings(Namespace("bench"))
    }
    sent_at = datetime.now(UTC)

    def event_ids(i: int) -> dict[str, Any]:
        e, t, c = ids[i]
        return {"email_id": e, "task_id": t, "client_id": c, "agent_id": agent}

    def composed_event(i: int) -> EmailComposed:
        return EmailComposed(
            **event_ids(i), subject=f"Checking in {i}", body_text="Hello!", composer="llm",
            model="gpt-test", delivery=delivery(),
        )  # fmt: skip

    def sent_event(i: int) -> EmailSent:
        return EmailSent(
            **event_ids(i), provider_message_id=f"ses-{i}", transport="ses", sent_at=sent_at
        )

    async def composed(i: int) -> None:
        await record(COMPOSED_DURABLE, f"composed:{i}", composed_event(i))

    async def sent(i: int) -> None:
        await record(SENT_DURABLE, f"sent:{i}", sent_event(i))

    async def record(durable: str, event_id: str, event: Any) -> None:
        """The consumer's own handler, given a message with the envelope headers only."""
        headers = envelope_headers(event, event_id=event_id, source="realtoros/bench")
        await handlers[durable](event, cast(Any, SimpleNamespace(headers=headers)))

    if args.via_nats:
        await engine.dispose()
        events: dict[str, list[Any]] = {"composed": [], "sent": []}
        for i in range(args.n + args.warmup):
            events["composed"].append((f"composed:{i}", composed_event(i)))
            events["sent"].append((f"sent:{i}", sent_event(i)))
        results: dict[str, Any] = dict(await via_nats(args, srv, url, events))
        results["check"] = await check(url, args.n + args.warmup, not args.no_runs)
        return results
    assert srv.postgres.proc is not None
    pg = srv.postgres.proc.pid
    profiler = cProfile.Profile(time.process_time) if args.profile else None
    w = args.warmup
    try:
        for i in range(w):  # compiled-statement caches, prepared statements, connections
            await composed(i)
            await sent(i)
        results = {
            "composed": await phase(args.n, lambda i: composed(w + i), pg, profiler),
            "sent": await phase(args.n, lambda i: sent(w + i), pg, profiler),
        }
        redelivered = await phase(args.n, lambda i: sent(w + i), pg, None)
        results["sent, redelivered"] = redelivered
    finally:
        await engine.dispose()
    if profiler:
        profiler.dump_stats(args.profile)
    results["check"] = await check(url, args.n + w, not args.no_runs)
    return results


async def via_nats(
    args: argparse.Namespace, srv: stack.Servers, url: str, events: dict[str, list[Any]]
) -> dict[str, dict[str, float]]:
    """The CRM app in this process (``build_app``, lifespan: every consumer and the relay
    running) consumes what a child process publishes, kind by kind."""
    settings = stack.in_process_crm_settings(url, srv.nats.url)
    app = build_app(settings)
    assert srv.postgres.proc is not None
    pg, results = srv.postgres.proc.pid, {}
    w, n = args.warmup, args.n
    batches = [("composed", 0, w, w), ("sent", 0, w, w), ("composed", w, w + n, n)]
    batches.append(("sent", w, w + n, w + n))
    async with app.router.lifespan_context(app):
        for kind, start, stop, target in batches:
            batch = events[kind][start:stop]
            lines = "".join(f"{kind} {eid} {event.model_dump_json()}\n" for eid, event in batch)
            pg_before, me_before, started = (
                tree_cpu_seconds(pg),
                time.process_time(),
                time.monotonic(),
            )
            child = await asyncio.create_subprocess_exec(
                sys.executable, str(Path(__file__).with_name("events_publisher.py")),
                srv.nats.url, settings.nats_namespace, stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE, cwd=REPO,
            )  # fmt: skip
            await child.communicate(lines.encode())
            await until_emails(url, "sending" if kind == "composed" else "sent", target)
            if start == 0:
                continue  # the warm-up
            results[f"{kind} (NATS)"] = {
                "crm_ms": (time.process_time() - me_before) * 1000 / n,
                "pg_ms": (tree_cpu_seconds(pg) - pg_before) * 1000 / n,
                "wall_ms": (time.monotonic() - started) * 1000 / n,
            }
    return results


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=2000, help="events of each kind measured")
    parser.add_argument("--warmup", type=int, default=50)
    parser.add_argument("--no-runs", action="store_true", help="tasks outside any plan run")
    parser.add_argument("--via-nats", action="store_true", help="through NATS and the app")
    parser.add_argument("--no-pre-ping", action="store_true", help="the pool without its ping")
    parser.add_argument("--profile", type=Path, help="write a cProfile of both phases here")
    return parser.parse_args()


def main() -> None:
    args = parse()
    logging.disable(logging.WARNING)
    load = [round(x, 2) for x in os.getloadavg()]
    with stack.servers() as srv:
        results = asyncio.run(bench(args, srv))
    print(f"machine: {os.cpu_count()} cores ({cpu_model()}), commit {git_commit()}")
    print(f"load average before: {load}, after: {[round(x, 2) for x in os.getloadavg()]}")
    print(f"{args.n} events of each kind, plan runs: {not args.no_runs}")
    for name, r in results.items():
        if name == "check":
            continue
        print(
            f"{name:18} CPU-ms per event: crm {r['crm_ms']:.2f}, postgres {r['pg_ms']:.2f}"
            f" (wall {r['wall_ms']:.2f} ms)"
        )
    check = results["check"]
    print("rows check: " + ("as expected" if check["ok"] else f"NOT as expected: {check}"))


if __name__ == "__main__":
    main()
