"""natsauth's users on a real nats-server of the test's own: each service may publish only
its own subjects; another system's read-only user reads through durables of its own and
can do nothing else."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from nats.aio.client import Client as NATS
from nats.errors import Error as NatsError
from nats.js.api import ConsumerConfig
from nats.js.errors import Error as JsError

from realtoros_contracts import EmailSent, Namespace, encode, envelope_headers
from realtoros_runtime.streams import ensure_streams
from tests.support.auth_nats import AuthNats, auth_nats
from tests.support.samples import sample

OURS = Namespace("perm_ours")
THEIRS = Namespace("perm_theirs")
DENIED = (TimeoutError, NatsError, JsError)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AuthNats]:
    with auth_nats(Path(tmp_path_factory.mktemp("auth-nats")), [OURS, THEIRS]) as running:
        yield running


@pytest.fixture
async def streams(server: AuthNats) -> None:
    """Both namespaces' streams, created by each one's crm user (as the services do)."""
    for ns in (OURS, THEIRS):
        nc = await server.connect(ns, "crm")
        await ensure_streams(nc.jetstream(), ns)
        await nc.close()


async def publish_sent(nc: NATS, ns: Namespace, event_id: str) -> None:
    event = sample(EmailSent)
    headers = envelope_headers(event, event_id=event_id, source="realtoros/mailer")
    await nc.jetstream().publish(
        ns.subject(EmailSent), encode(event), headers=headers, stream=ns.stream_for(event).name
    )


async def stored(server: AuthNats, ns: Namespace, stream: str) -> int:
    admin = await server.connect(ns, "admin")
    try:
        return (await admin.jetstream().stream_info(stream)).state.messages
    finally:
        await admin.close()


async def test_a_service_publishes_its_own_events_and_no_one_elses(
    server: AuthNats, streams: None
) -> None:
    mailer = await server.connect(OURS, "mailer")
    await publish_sent(mailer, OURS, "sent:own")
    with pytest.raises(DENIED):
        await mailer.jetstream().publish(
            OURS.tick_subject("due-tasks"), b"{}", stream=OURS.stream_name("scheduler"), timeout=2
        )
    assert await server.refused("perm_ours-mailer", OURS.tick_subject("due-tasks"))
    assert await stored(server, OURS, OURS.stream_name("scheduler")) == 0
    await mailer.close()


async def test_the_subscriber_reads_through_a_durable_of_its_own(
    server: AuthNats, streams: None
) -> None:
    mailer = await server.connect(OURS, "mailer")
    await publish_sent(mailer, OURS, "sent:for-reader")
    reader = await server.connect(OURS, "subscriber")
    sub = await reader.jetstream().pull_subscribe(
        OURS.subject(EmailSent), durable="ext-sync", stream=OURS.stream_name("mailer")
    )
    [msg] = await sub.fetch(1, timeout=10)
    assert msg.headers is not None
    assert msg.headers["ce-type"] == EmailSent.TYPE
    await msg.ack_sync()
    await reader.close()
    await mailer.close()


async def test_the_subscriber_cannot_publish(server: AuthNats, streams: None) -> None:
    reader = await server.connect(OURS, "subscriber")
    before = await stored(server, OURS, OURS.stream_name("mailer"))
    with pytest.raises(DENIED):
        await asyncio.wait_for(publish_sent(reader, OURS, "sent:forged"), 5)
    assert await server.refused("perm_ours-subscriber", OURS.subject(EmailSent))
    assert await stored(server, OURS, OURS.stream_name("mailer")) == before
    await reader.close()


async def test_the_subscriber_cannot_delete_a_stream(server: AuthNats, streams: None) -> None:
    reader = await server.connect(OURS, "subscriber")
    with pytest.raises(DENIED):
        await reader.jetstream(timeout=2).delete_stream(OURS.stream_name("mailer"))
    assert await server.refused("perm_ours-subscriber", "STREAM.DELETE")
    assert await stored(server, OURS, OURS.stream_name("mailer")) >= 0  # still there
    await reader.close()


async def test_the_subscriber_cannot_read_another_namespace(
    server: AuthNats, streams: None
) -> None:
    theirs = await server.connect(THEIRS, "mailer")
    await publish_sent(theirs, THEIRS, "sent:theirs")
    reader = await server.connect(OURS, "subscriber")
    with pytest.raises(DENIED):
        await reader.jetstream(timeout=2).pull_subscribe(
            THEIRS.subject(EmailSent), durable="ext-peek", stream=THEIRS.stream_name("mailer")
        )
    assert await server.refused("perm_ours-subscriber", THEIRS.stream_name("mailer"))
    await reader.subscribe(f"{THEIRS.name}.>")  # a plain subscription: refused as well
    assert await server.refused("perm_ours-subscriber", f'Subscription to "{THEIRS.name}.>"')
    await reader.close()
    await theirs.close()


async def test_the_subscriber_cannot_use_a_services_durable_or_the_dead_letters(
    server: AuthNats, streams: None
) -> None:
    crm = await server.connect(OURS, "crm")
    await crm.jetstream().pull_subscribe(
        OURS.subject(EmailSent), durable="crm-email-sent", stream=OURS.stream_name("mailer")
    )
    reader = await server.connect(OURS, "subscriber")
    js = reader.jetstream(timeout=2)
    sub = await js.pull_subscribe(  # finds the crm's durable: looking is allowed
        OURS.subject(EmailSent), durable="crm-email-sent", stream=OURS.stream_name("mailer")
    )
    with pytest.raises(DENIED):
        await sub.fetch(1, timeout=2)
    assert await server.refused("perm_ours-subscriber", "MSG.NEXT.perm_ours_mailer.crm-email-sent")
    changed = ConsumerConfig(durable_name="crm-email-sent", filter_subject=f"{OURS.name}.>")
    with pytest.raises(DENIED):
        await js.add_consumer(OURS.stream_name("mailer"), changed)
    with pytest.raises(DENIED):
        await js.stream_info(OURS.dead_letter_stream().name)
    await reader.close()
    await crm.close()


def test_passwords_stay_out_of_the_repository_and_are_private(server: AuthNats) -> None:
    conf = server.server.config_file
    assert conf is not None
    assert conf.stat().st_mode & 0o077 == 0
    assert not conf.resolve().is_relative_to(Path(__file__).resolve().parents[2])
