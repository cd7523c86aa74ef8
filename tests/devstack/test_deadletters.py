"""``realtoros-dev deadletters`` against a real NATS server: a service (the runtime's
consumer with its retry/dead-letter middleware) gives up on messages, the command lists,
shows and replays them, and the replayed message reaches the consumer again."""
# No `from __future__ import annotations` here: faststream reads the handler's annotations.

import asyncio
import json
import sys
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import pytest
from faststream.nats import NatsMessage
from nats.aio.client import Client as NATS

from realtoros_contracts import EmailSent, Namespace, SchedulerTick, encode, envelope_headers
from realtoros_runtime.bus import build_bus
from realtoros_runtime.consuming import RetryPolicy, envelope_of
from realtoros_runtime.settings import ServiceSettings
from realtoros_runtime.streams import ensure_streams
from tests.support.processes import REPO
from tests.support.samples import sample
from tests.support.waiting import eventually

SENT = sample(EmailSent)
SERVICE = "dlsvc"


class Broken:
    """Fails every delivery while ``broken``; records the event ids it processed."""

    def __init__(self) -> None:
        self.broken = True
        self.calls: Counter[str] = Counter()
        self.done: list[str] = []

    async def __call__(self, event: EmailSent, msg: NatsMessage) -> None:
        event_id = envelope_of(msg).id
        self.calls[event_id] += 1
        if self.broken:
            raise RuntimeError("the downstream is broken")
        self.done.append(event_id)


@pytest.fixture
async def service(nats_url: str, namespace: Namespace, nats_client: NATS) -> AsyncIterator[Broken]:
    settings = ServiceSettings(nats_url=nats_url, nats_namespace=namespace.name)  # type: ignore[arg-type]
    bus = build_bus(SERVICE, settings, RetryPolicy(max_deliveries=2, base_delay=0.01))
    handler = Broken()

    async def on_email_sent(event: EmailSent, msg: NatsMessage) -> None:
        await handler(event, msg)

    bus.durable(namespace.subject(EmailSent), producer="mailer", durable=f"{SERVICE}-sent")(
        on_email_sent
    )
    await bus.connect()
    await bus.broker.start()
    yield handler
    await bus.broker.stop()


async def command(nats_url: str, ns: Namespace, *args: str) -> str:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "realtoros_devstack.cli",
        "deadletters",
        "--nats-url",
        nats_url,
        "--namespace",
        ns.name,
        *args,
        cwd=REPO,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0, err.decode()
    return out.decode()


async def stored(nc: NATS, ns: Namespace) -> list[Any]:
    """The dead letters in the stream, oldest first."""
    js = nc.jetstream()
    info = await js.stream_info(ns.dead_letter_stream().name)
    letters = []
    for seq in range(info.state.first_seq, info.state.last_seq + 1):
        try:
            letters.append(await js.get_msg(ns.dead_letter_stream().name, seq))
        except Exception:  # deleted
            continue
    return letters


async def publish(nc: NATS, ns: Namespace, event_id: str, body: bytes | None = None) -> None:
    headers = envelope_headers(SENT, event_id=event_id, source="realtoros/test")
    await nc.jetstream().publish(ns.subject(EmailSent), body or encode(SENT), headers=headers)


async def dead_lettered(nc: NATS, ns: Namespace, count: int) -> list[Any]:
    async def probe() -> list[Any] | None:
        letters = await stored(nc, ns)
        return letters if len(letters) >= count else None

    return await eventually(probe, timeout=20, interval=0.1, what=f"{count} dead letters")


async def test_list_and_show_describe_each_dead_letter(
    service: Broken, nats_url: str, namespace: Namespace, nats_client: NATS
) -> None:
    await publish(nats_client, namespace, "keeps-failing")
    await publish(nats_client, namespace, "not-json", b"{oops")
    letters = await dead_lettered(nats_client, namespace, 2)
    seqs = sorted(letter.seq for letter in letters)

    listing = await command(nats_url, namespace, "list", "--service", SERVICE)
    lines = listing.strip().splitlines()
    assert len(lines) == 2, listing
    assert all(SERVICE in line and namespace.subject(EmailSent) in line for line in lines)
    assert any("deliveries=2" in line and "RuntimeError" in line for line in lines)
    assert any("deliveries=1" in line and "invalid event body" in line for line in lines)
    assert (await command(nats_url, namespace, "list", "--limit", "1")).count("\n") == 2
    assert "no dead letters" in await command(nats_url, namespace, "list", "--service", "other")

    failing = next(x for x in letters if x.headers.get("ce-id") == "keeps-failing")
    shown = await command(nats_url, namespace, "show", str(failing.seq))
    assert f"seq {failing.seq}" in shown
    assert "x-dead-letter-reason: gave up after 2 failures" in shown
    assert "ce-id: keeps-failing" in shown
    assert json.dumps(str(SENT.email_id)) in shown  # the body, pretty-printed
    assert seqs == sorted(x.seq for x in await stored(nats_client, namespace))


async def test_replay_reaches_the_consumer_again_once_the_cause_is_fixed(
    service: Broken, nats_url: str, namespace: Namespace, nats_client: NATS
) -> None:
    await publish(nats_client, namespace, "evt-1")
    (first,) = await dead_lettered(nats_client, namespace, 1)
    assert service.calls["evt-1"] == 2

    # Still broken: the replay is dead-lettered again, as replay 1; replaying that is 2.
    out = await command(nats_url, namespace, "replay", str(first.seq))
    assert "as evt-1:replay:1" in out
    (second,) = await dead_lettered(nats_client, namespace, 1)
    assert second.seq != first.seq  # the first was deleted when replayed
    assert second.headers["x-replay-count"] == "1"
    assert service.calls["evt-1"] == 4

    service.broken = False
    out = await command(nats_url, namespace, "replay", str(second.seq))
    assert "as evt-1:replay:2" in out
    await eventually(lambda: service.done == ["evt-1"], timeout=20, what="replay consumed")
    assert await stored(nats_client, namespace) == []


async def test_replay_all_of_one_service(
    service: Broken, nats_url: str, namespace: Namespace, nats_client: NATS
) -> None:
    for n in range(3):
        await publish(nats_client, namespace, f"evt-{n}")
    await dead_lettered(nats_client, namespace, 3)
    service.broken = False
    assert "replayed 0 dead letter(s)" in await command(
        nats_url, namespace, "replay", "--all", "--service", "other"
    )
    out = await command(nats_url, namespace, "replay", "--all", "--service", SERVICE)
    assert "replayed 3 dead letter(s)" in out
    await eventually(
        lambda: sorted(service.done) == ["evt-0", "evt-1", "evt-2"], timeout=20, what="replays"
    )
    assert await stored(nats_client, namespace) == []


async def letter(nc: NATS, ns: Namespace, subject: str, body: bytes, ce_type: str) -> None:
    """A dead letter as the runtime writes one (ticks are no longer dead-lettered: an old
    stream may still hold some)."""
    await ensure_streams(nc.jetstream(), ns)
    headers = {
        "ce-id": f"old:{subject}",
        "ce-type": ce_type,
        "x-dead-letter-subject": subject,
        "x-dead-letter-service": SERVICE,
        "x-dead-letter-stream": ns.stream_name(subject.split(".")[1]),
    }
    await nc.jetstream().publish(ns.dead_letter_subject(SERVICE), body, headers=headers)


async def test_replay_skips_stale_letters_and_says_so(
    nats_url: str, namespace: Namespace, nats_client: NATS, database_url: str
) -> None:
    tick = sample(SchedulerTick)
    await letter(
        nats_client, namespace, namespace.tick_subject("due-tasks"), encode(tick), tick.TYPE
    )
    # The sample's email was never in this (fresh) CRM database.
    await letter(nats_client, namespace, namespace.subject(EmailSent), encode(SENT), SENT.TYPE)
    no_ids = json.dumps({"note": "nothing to look up"}).encode()
    await letter(nats_client, namespace, namespace.subject(EmailSent), no_ids, SENT.TYPE)

    out = await command(nats_url, namespace, "replay", "--all", "--database-url", database_url)
    assert "stale, a tick (the next tick covers it)" in out
    assert f"stale, its email {SENT.email_id} no longer exists" in out
    assert "replayed 1 dead letter(s), skipped 2 stale" in out
    assert await stored(nats_client, namespace) == []  # skipped ones are deleted too
    replayed = await nats_client.jetstream().get_last_msg(
        namespace.stream_name("mailer"), namespace.subject(EmailSent)
    )
    assert replayed.data == no_ids


async def test_without_the_database_only_ticks_are_stale(
    nats_url: str, namespace: Namespace, nats_client: NATS
) -> None:
    tick = sample(SchedulerTick)
    await letter(
        nats_client, namespace, namespace.tick_subject("due-tasks"), encode(tick), tick.TYPE
    )
    await letter(nats_client, namespace, namespace.subject(EmailSent), encode(SENT), SENT.TYPE)
    out = await command(nats_url, namespace, "replay", "--all")
    assert "replayed 1 dead letter(s), skipped 1 stale" in out
