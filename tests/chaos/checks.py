"""What a chaos run publishes on purpose (malformed messages) and what it reads at the end
(the tasks in PostgreSQL, the dead letters, the ticks in their stream)."""

from __future__ import annotations

import json
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Any

import asyncpg
from nats.aio.client import Client as NATS

from realtoros_contracts import Event, Namespace, encode, envelope_headers
from tests.support.samples import sample
from tests.support.streams import stream_messages

FINAL = ("sent", "failed", "unknown", "skipped")


@dataclass(frozen=True)
class BadMessage:
    subject: str
    kind: str  # bad-json | schema-invalid | no-headers
    stream: str
    seq: int


def _sample(event_cls: type[Event]) -> Event:
    return sample(event_cls)


def subject_matches(pattern: str, subject: str) -> bool:
    """NATS wildcards: ``*`` one token, ``>`` the rest."""
    want, have = pattern.split("."), subject.split(".")
    for i, token in enumerate(want):
        if token == ">":
            return len(have) > i
        if i >= len(have) or (token != "*" and token != have[i]):
            return False
    return len(want) == len(have)


async def consumers_by_subject(nc: NATS, ns: Namespace) -> dict[str, set[str]]:
    """Each filter subject of the namespace's durable consumers → the consuming services
    (a durable is named ``<service>-…``)."""
    found: dict[str, set[str]] = defaultdict(set)
    js = nc.jetstream()
    for spec in ns.streams():
        if spec.name == ns.dead_letter_stream().name:
            continue
        for info in await js.consumers_info(spec.name):
            config = info.config
            subjects = [config.filter_subject] if config.filter_subject else []
            subjects += list(config.filter_subjects or [])
            for subject in subjects:
                found[subject].add((config.durable_name or info.name).split("-", 1)[0])
    return dict(found)


def concrete_subject(ns: Namespace, pattern: str) -> str:
    return pattern.replace("*", "due-tasks") if pattern == ns.all_ticks() else pattern


async def publish_bad_messages(nc: NATS, ns: Namespace, subjects: list[str]) -> list[BadMessage]:
    """Three bad messages per subject: not JSON, JSON the schema rejects (valid envelope),
    a valid body without the CloudEvents headers."""
    js = nc.jetstream()
    published = []
    for subject in subjects:
        event_cls = ns.event_for_subject(subject)
        assert event_cls is not None, subject
        sample = _sample(event_cls)

        def headers(sample: Event = sample) -> dict[str, str]:
            return envelope_headers(sample, event_id=f"bad:{uuid.uuid4()}", source="chaos/test")

        bodies: list[tuple[str, bytes, dict[str, str] | None]] = [
            ("bad-json", b'{"not json', headers()),
            ("schema-invalid", json.dumps({"unexpected": True}).encode(), headers()),
            ("no-headers", encode(sample), None),
        ]
        for kind, body, hdrs in bodies:
            ack = await js.publish(subject, body, headers=hdrs)
            published.append(BadMessage(subject, kind, ack.stream, ack.seq))
    return published


async def dead_letters_of(nc: NATS, ns: Namespace) -> dict[tuple[str, int, str], dict[str, str]]:
    """(original stream, original seq, service) → the dead letter's headers."""
    letters: dict[tuple[str, int, str], dict[str, str]] = {}
    for msg in await stream_messages(nc.jetstream(), ns.dead_letter_stream().name):
        h = msg.headers or {}
        key = (h["x-dead-letter-stream"], int(h["x-dead-letter-stream-seq"]))
        letters[(*key, h["x-dead-letter-service"])] = h
    return letters


async def ticks_per_slot(nc: NATS, ns: Namespace) -> tuple[Counter[str], Counter[str]]:
    """How many tick messages each slot has in the stream, and how many each replica
    published (only well-formed ticks: the bad messages of the run are skipped)."""
    per_slot: Counter[str] = Counter()
    per_leader: Counter[str] = Counter()
    for msg in await stream_messages(nc.jetstream(), ns.stream_name("scheduler")):
        if not (msg.headers or {}).get("ce-id", "").startswith("tick:"):
            continue
        try:
            body = json.loads(msg.data)
        except ValueError:
            continue
        if not isinstance(body, dict) or "slot" not in body:
            continue
        per_slot[f"{body.get('schedule')}@{body['slot']}"] += 1
        per_leader[str(body.get("leader"))] += 1
    return per_slot, per_leader


async def task_outcomes(database_url: str, task_ids: list[str]) -> list[dict[str, Any]]:
    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch(
            "SELECT t.id::text AS id, t.status, t.failure_reason, e.id::text AS email_id "
            "FROM tasks t LEFT JOIN emails e ON e.task_id = t.id WHERE t.id = ANY($1::uuid[])",
            task_ids,
        )
    finally:
        await conn.close()
    return [dict(row) for row in rows]
