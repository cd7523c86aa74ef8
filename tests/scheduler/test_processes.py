"""The scheduler as real OS processes on a real NATS server: ticks, one leader, failover."""

from __future__ import annotations

import asyncio
import itertools
import signal
import time
from datetime import timedelta
from pathlib import Path

import httpx
import nats
import pytest
from nats.aio.client import Client as NATS
from nats.js.errors import KeyNotFoundError

from realtoros_contracts import Namespace, SchedulerTick, decode
from tests.scheduler.conftest import (
    LEASE_TTL,
    TICK_INTERVAL,
    Spawn,
    StoredTick,
    status_of,
    stored_ticks,
)
from tests.support.processes import ServiceProcess
from tests.support.waiting import eventually

pytestmark = pytest.mark.e2e

INTERVAL = timedelta(seconds=TICK_INTERVAL)


def assert_one_tick_per_slot(ticks: list[StoredTick], ns: Namespace, schedule: str) -> None:
    """Ids, subjects and alignment are right, and the slots only go forward: no slot twice."""
    assert ticks, f"no ticks for {schedule}"
    for stored in ticks:
        tick = stored.tick
        assert tick.schedule == schedule
        assert stored.subject == ns.tick_subject(schedule)
        assert stored.id == SchedulerTick.event_id(schedule, tick.slot)
        assert stored.id == f"tick:{schedule}:{tick.slot.isoformat()}"
        assert tick.slot.utcoffset() == timedelta(0)
        micros = int(tick.slot.timestamp() * 1_000_000 + 0.5)
        assert micros % int(TICK_INTERVAL * 1_000_000) == 0, f"{tick.slot} is not aligned"
        # Published during its slot (plus scheduling slack), never before it began.
        assert tick.slot <= stored.published_at < tick.slot + INTERVAL + timedelta(seconds=2)
    slots = [stored.tick.slot for stored in ticks]
    assert slots == sorted(set(slots)), "a slot appears twice or out of order"


def leader_runs(ticks: list[StoredTick]) -> list[str]:
    """The leaders in stream order with repeats collapsed: ['a', 'b'] is one handover."""
    runs: list[str] = []
    for stored in ticks:
        if not runs or runs[-1] != stored.tick.leader:
            runs.append(stored.tick.leader)
    return runs


async def wait_ready(*procs: ServiceProcess) -> None:
    await asyncio.gather(*(asyncio.to_thread(proc.wait_ready, 30.0) for proc in procs))


async def the_leader(a: ServiceProcess, b: ServiceProcess) -> tuple[ServiceProcess, ServiceProcess]:
    """Wait until exactly one of two replicas leads and the other knows it; (leader, other)."""

    async def settled() -> tuple[ServiceProcess, ServiceProcess] | None:
        sa, sb = await status_of(a), await status_of(b)
        if sa is None or sb is None or sa["leader"] == sb["leader"]:
            return None
        leader, other, other_status = (a, b, sb) if sa["leader"] else (b, a, sa)
        leader_id = (sa if sa["leader"] else sb)["replica"]
        return (leader, other) if other_status["holder"] == leader_id else None

    pair: tuple[ServiceProcess, ServiceProcess] = await eventually(
        settled, timeout=15, what="exactly one leader"
    )
    return pair


async def last_tick_leader(js: nats.js.JetStreamContext, ns: Namespace) -> str | None:
    try:
        msg = await js.get_last_msg(ns.stream_name("scheduler"), ns.tick_subject("due-tasks"))
    except nats.js.errors.NotFoundError:
        return None
    assert msg.data is not None
    return decode(SchedulerTick, msg.headers, msg.data)[1].leader


async def ticks_by(js: nats.js.JetStreamContext, ns: Namespace, replica: str, n: int) -> None:
    async def enough() -> bool:
        ticks = await stored_ticks(js, ns)
        return sum(stored.tick.leader == replica for stored in ticks) >= n

    await eventually(enough, timeout=15, what=f"{n} ticks from {replica}", interval=0.2)


async def leader_ticking(
    spawn: Spawn, js: nats.js.JetStreamContext, ns: Namespace, ticks: int
) -> tuple[ServiceProcess, ServiceProcess]:
    """Two replicas, ready, one leading and the other knowing it, the leader's first
    ``ticks`` ticks stored; (leader, other)."""
    a, b = spawn("replica-a"), spawn("replica-b")
    await wait_ready(a, b)
    leader, other = await the_leader(a, b)
    await ticks_by(js, ns, leader.env["REPLICA_ID"], ticks)
    return leader, other


async def test_ticks_arrive_once_per_slot_on_each_schedule_subject(
    spawn_scheduler: Spawn, namespace: Namespace, nats_client: NATS
) -> None:
    proc = spawn_scheduler("solo", SCHEDULES="due-tasks,digest")
    await wait_ready(proc)
    js = nats_client.jetstream()
    await ticks_by(js, namespace, "solo", 20)

    ticks = await stored_ticks(js, namespace)
    assert {stored.tick.leader for stored in ticks} == {"solo"}
    by_schedule = {
        name: [stored for stored in ticks if stored.tick.schedule == name]
        for name in ("due-tasks", "digest")
    }
    for name, of_schedule in by_schedule.items():
        assert_one_tick_per_slot(of_schedule, namespace, name)
        steps = [b.tick.slot - a.tick.slot for a, b in itertools.pairwise(of_schedule)]
        # A steady leader ticks every slot (an overloaded machine may skip the odd one).
        assert sum(step == INTERVAL for step in steps) >= 0.8 * len(steps), steps
    status = await status_of(proc)
    assert status is not None
    assert status["leader"] is True
    assert status["replica"] == "solo"
    assert status["last_tick"] is not None
    assert status["schedules"] == ["due-tasks", "digest"]
    async with httpx.AsyncClient(base_url=proc.base_url, timeout=5) as client:
        assert (await client.get("/healthz")).status_code == 200
        spec = (await client.get("/asyncapi.json")).json()
    assert namespace.tick_subject("digest") in str(spec)


async def test_one_leader_and_failover_after_sigkill(
    spawn_scheduler: Spawn, namespace: Namespace, nats_client: NATS
) -> None:
    js = nats_client.jetstream()
    leader, other = await leader_ticking(spawn_scheduler, js, namespace, 5)
    leader_id, other_id = leader.env["REPLICA_ID"], other.env["REPLICA_ID"]
    assert leader_runs(await stored_ticks(js, namespace)) == [leader_id]

    killed_at = time.monotonic()
    await asyncio.to_thread(leader.kill)

    async def taken_over() -> bool:
        return await last_tick_leader(js, namespace) == other_id

    await eventually(taken_over, timeout=LEASE_TTL + 8, what=f"{other_id} to tick")
    failover = time.monotonic() - killed_at
    print(f"\nfailover after SIGKILL: {failover:.2f}s (lease TTL {LEASE_TTL}s)")
    # The standby waits for the lease to expire (it was refreshed at most TTL/3 before the
    # kill), and takes over within about one TTL plus one campaign interval.
    assert LEASE_TTL / 2 < failover < LEASE_TTL + 5

    ticks = await stored_ticks(js, namespace)
    assert leader_runs(ticks) == [leader_id, other_id]
    assert_one_tick_per_slot(ticks, namespace, "due-tasks")
    status = await status_of(other)
    assert status is not None
    assert status["leader"] is True


async def test_sigterm_releases_the_lease_for_a_fast_handover(
    spawn_scheduler: Spawn, namespace: Namespace, nats_client: NATS
) -> None:
    js = nats_client.jetstream()
    leader, other = await leader_ticking(spawn_scheduler, js, namespace, 3)
    leader_id, other_id = leader.env["REPLICA_ID"], other.env["REPLICA_ID"]

    stopped_at = time.monotonic()
    await asyncio.to_thread(leader.stop, signal.SIGTERM, 15.0)
    exited_at = time.monotonic()
    # The key was deleted on the way out: it is gone, or already the standby's.
    kv = await js.key_value(namespace.bucket("leader"))
    try:
        entry = await kv.get("scheduler")
        assert entry.value is not None
        assert leader_id.encode() not in entry.value
    except KeyNotFoundError:
        pass

    async def taken_over() -> bool:
        return await last_tick_leader(js, namespace) == other_id

    await eventually(taken_over, timeout=LEASE_TTL + 8, what=f"{other_id} to tick")
    now = time.monotonic()
    print(
        f"\nhandover after SIGTERM: {now - stopped_at:.2f}s "
        f"({now - exited_at:.2f}s after the old leader exited; lease TTL {LEASE_TTL}s)"
    )
    # Waiting for the key to expire would take at least 2/3 of the TTL after the exit.
    assert now - exited_at < LEASE_TTL / 2

    ticks = await stored_ticks(js, namespace)
    assert leader_runs(ticks) == [leader_id, other_id]
    assert_one_tick_per_slot(ticks, namespace, "due-tasks")


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("TICK_INTERVAL_SECONDS", "abc"),
        ("TICK_INTERVAL_SECONDS", "0"),
        ("LEASE_TTL_SECONDS", "0.5"),
        ("SCHEDULES", "Due Tasks"),
    ],
)
def test_a_bad_setting_stops_the_process_with_one_line_naming_it(
    run_dir: Path, name: str, value: str
) -> None:
    proc = ServiceProcess(
        "scheduler",
        {"NATS_URL": "nats://127.0.0.1:1", name: value},
        run_dir,
        name=f"scheduler-bad-{name}-{value.replace(' ', '_')}",
    ).start()
    assert proc.proc is not None
    code = proc.proc.wait(timeout=60)
    assert code != 0
    lines = proc.logs().strip().splitlines()
    assert len(lines) == 1, lines
    assert name in lines[0]
    assert lines[0].startswith("scheduler: bad setting")
