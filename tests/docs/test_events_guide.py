"""docs/events.md, the guide for other teams: it names every event, and its example
consumer (run exactly as printed, as the read-only user, on a server of the test's own
started with RealtorOS's users) applies each EmailSent once, also across a replay."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from realtoros_contracts import ALL_EVENTS, EmailSent, Namespace, encode, envelope_headers
from realtoros_runtime.streams import ensure_streams
from tests.support.auth_nats import AuthNats, auth_nats
from tests.support.samples import sample

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "events.md"
NS = Namespace("guide")


def example_consumer() -> str:
    section = GUIDE.read_text().split("## A complete consumer", 1)[1]
    match = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert match, "docs/events.md has no python block under 'A complete consumer'"
    return match.group(1)


def test_the_guide_names_every_event_and_its_schema() -> None:
    guide = GUIDE.read_text()
    for event_cls in ALL_EVENTS:
        assert f"`{event_cls.TYPE}`" in guide, f"docs/events.md does not list {event_cls.TYPE}"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[AuthNats]:
    with auth_nats(tmp_path, [NS]) as running:
        yield running


def run_consumer(server: AuthNats, script: Path, durable: str, seen_db: Path) -> list[str]:
    user, password = server.credentials(NS, "subscriber")
    env = {
        **os.environ,
        "NATS_URL": server.url,
        "NATS_USER": user,
        "NATS_PASSWORD": password,
        "REALTOROS_NAMESPACE": NS.name,
        "CONSUMER_NAME": durable,
        "SEEN_DB": str(seen_db),
        "STOP_WHEN_IDLE": "3",
    }
    done = subprocess.run(
        [sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()


async def publish_sent(server: AuthNats, copies: list[tuple[str, str]]) -> None:
    """(ce-id, Nats-Msg-Id) pairs: a second Nats-Msg-Id is a re-publish beyond the window."""
    nc = await server.connect(NS, "mailer")
    js = nc.jetstream()
    await ensure_streams(js, NS)
    event = sample(EmailSent)
    for event_id, msg_id in copies:
        headers = envelope_headers(event, event_id=event_id, source="realtoros/mailer")
        headers["Nats-Msg-Id"] = msg_id
        await js.publish(NS.subject(EmailSent), encode(event), headers=headers)
    await nc.close()


async def test_the_example_consumer_applies_each_event_once_across_a_replay(
    server: AuthNats, tmp_path: Path
) -> None:
    script = tmp_path / "consumer.py"
    script.write_text(example_consumer())
    await publish_sent(
        server, [("sent:a", "sent:a"), ("sent:b", "sent:b"), ("sent:a", "sent:a:later")]
    )
    first = run_consumer(server, script, "acme-sync", tmp_path / "seen.sqlite3")
    assert first == ["applied sent:a", "applied sent:b", "duplicate sent:a"]
    replay = run_consumer(server, script, "acme-replay", tmp_path / "seen.sqlite3")
    assert replay == ["duplicate sent:a", "duplicate sent:b", "duplicate sent:a"]
