"""Eyes on the follow-up loop: the four services as OS processes (real NATS, PostgreSQL,
the fake LLM, moto's SES), exporting traces over OTLP/HTTP to a receiver in this process
and logging JSON. One follow-up goes through; then its one trace, the /metrics of every
service and the log lines are checked."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import secrets
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import httpx
import nats
import pytest
from prometheus_client.parser import text_string_to_metric_families

from realtoros_contracts import EmailComposed, EmailSent, Namespace, TaskDue
from tests.observability.otlp import ReceivedSpan, SpanStore, otlp_receiver
from tests.support.backends import Backend, admin, with_database
from tests.support.fake_llm import launched
from tests.support.moto_ses import MotoSes
from tests.support.processes import ServiceProcess
from tests.support.stack import AGENT, AGENT_LOGIN, running
from tests.support.waiting import eventually_blocking

pytestmark = pytest.mark.e2e

SENDER = "notifications@mail.realtoros.test"
SERVICES = ("crm", "scheduler", "composer", "mailer")
T = TypeVar("T")


@dataclass
class Loop:
    ns: Namespace
    procs: dict[str, ServiceProcess]
    spans: SpanStore
    task: dict[str, Any]

    @property
    def email_id(self) -> str:
        return str(self.task["email"]["id"])


def _delete_streams(nats_url: str, ns: Namespace) -> None:
    async def run() -> None:
        nc = await nats.connect(nats_url)
        js = nc.jetstream()
        for spec in ns.streams():
            with contextlib.suppress(Exception):
                await js.delete_stream(spec.name)
        with contextlib.suppress(Exception):
            for info in await js.streams_info():
                if info.config.name and info.config.name.startswith(f"KV_{ns.name}_"):
                    await js.delete_stream(info.config.name)
        await nc.close()

    asyncio.run(run())


@contextlib.contextmanager
def _database(postgres: Backend, template: str) -> Iterator[str]:
    name = f"obs_{uuid.uuid4().hex[:10]}"
    admin(postgres.url, f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    try:
        yield with_database(postgres.url, name)
    finally:
        admin(postgres.url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _service_env(
    ns: Namespace, nats_url: str, database_url: str, llm_url: str, moto: MotoSes
) -> dict[str, dict[str, str]]:
    return {
        "crm": {"DATABASE_URL": database_url, "JWT_SECRET": secrets.token_hex(32)},
        "scheduler": {"TICK_INTERVAL_SECONDS": "0.5"},
        "composer": {"OPENAI_API_KEY": "test-key", "OPENAI_BASE_URL": llm_url},
        "mailer": moto.mailer_env(SENDER),
    }


def _one_follow_up(base_url: str) -> dict[str, Any]:
    """Sign up, add a client and one task due now; wait until it is sent."""
    with httpx.Client(base_url=base_url, timeout=10) as http:
        http.post("/auth/register", json=AGENT).raise_for_status()
        login = http.post("/auth/login", json=AGENT_LOGIN)
        login.raise_for_status()
        http.headers["authorization"] = f"Bearer {login.json()['access_token']}"
        client = http.post(
            "/clients",
            json={"name": "Jordan Lee", "email": "jordan@example.com", "property_address": "1 Elm"},
        )
        client.raise_for_status()
        task = http.post(
            "/tasks",
            json={
                "client_id": client.json()["id"],
                "due_at": datetime.now(UTC).isoformat(),
                "purpose": "Day 1",
            },
        )
        task.raise_for_status()

        def sent() -> dict[str, Any] | None:
            current: dict[str, Any] = http.get(f"/tasks/{task.json()['id']}").json()
            return current if current["status"] == "sent" else None

        return eventually_blocking(sent, timeout=60, what="the follow-up sent")


@pytest.fixture(scope="module")
def loop(run_dir: Path, nats_url: str, postgres: Backend, migrated_template: str) -> Iterator[Loop]:
    ns = Namespace(f"obs{uuid.uuid4().hex[:8]}")
    log_dir = run_dir / f"observability-{ns.name}"
    log_dir.mkdir()
    with contextlib.ExitStack() as stack:
        endpoint, spans = stack.enter_context(otlp_receiver())
        database_url = stack.enter_context(_database(postgres, migrated_template))
        llm_url = f"{stack.enter_context(launched(log_dir))}/v1"
        moto = stack.enter_context(MotoSes())
        moto.verify_sender(SENDER)
        stack.callback(_delete_streams, nats_url, ns)
        common = {
            "NATS_URL": nats_url,
            "NATS_NAMESPACE": ns.name,
            "LOG_LEVEL": "INFO",
            "LOG_FORMAT": "json",
            "OTEL_EXPORTER_OTLP_ENDPOINT": endpoint,
            "OTEL_BSP_SCHEDULE_DELAY": "200",
        }
        envs = _service_env(ns, nats_url, database_url, llm_url, moto)
        env = {name: {**common, **envs[name]} for name in SERVICES}
        procs = stack.enter_context(running(env, log_dir))
        task = _one_follow_up(procs["crm"].base_url)
        yield Loop(ns=ns, procs=procs, spans=spans, task=task)


def _services(spans: list[ReceivedSpan]) -> set[str]:
    return {s.service for s in spans}


def _roots(spans: list[ReceivedSpan]) -> list[ReceivedSpan]:
    """The spans whose parent is not in ``spans`` (one, the tick's publish, when whole)."""
    ids = {s.span_id for s in spans}
    return [s for s in spans if s.parent_span_id not in ids]


def test_one_trace_follows_the_follow_up_through_all_four_services(loop: Loop) -> None:
    def send_span() -> ReceivedSpan | None:
        return next(
            (
                s
                for s in loop.spans.spans()
                if s.attributes.get("realtoros.email_id") == loop.email_id
            ),
            None,
        )

    sent = eventually_blocking(send_span, timeout=30, what="the mailer's span of the send")
    assert sent.service == "realtoros-mailer"
    email_sent = loop.ns.subject(EmailSent)

    def whole_trace() -> list[ReceivedSpan] | None:
        spans = loop.spans.trace(sent.trace_id)
        back_in_crm = any(
            s.service == "realtoros-crm" and s.name == f"{email_sent} process" for s in spans
        )
        # Spans are exported as they end, children first: wait for every parent.
        complete = len(_roots(spans)) == 1
        return spans if back_in_crm and complete and len(_services(spans)) == 4 else None

    try:
        spans = eventually_blocking(whole_trace, timeout=30, what=f"trace {sent.trace_id} complete")
    except AssertionError as exc:
        spans = loop.spans.trace(sent.trace_id)
        orphans = [(s.service, s.name, s.parent_span_id) for s in _roots(spans)]
        raise AssertionError(f"{exc}; services {_services(spans)}; roots {orphans}") from None
    assert _services(spans) == {f"realtoros-{s}" for s in SERVICES}
    names = {(s.service, s.name) for s in spans}
    tick = loop.ns.tick_subject("due-tasks")
    assert ("realtoros-scheduler", f"{tick} publish") in names, names
    assert ("realtoros-crm", f"{tick} process") in names
    assert ("realtoros-crm", f"{loop.ns.subject(TaskDue)} publish") in names  # by the relay
    assert ("realtoros-composer", f"{loop.ns.subject(TaskDue)} process") in names
    assert ("realtoros-mailer", f"{loop.ns.subject(EmailComposed)} process") in names
    # The LLM request and the SQL of the claim are in the trace too.
    assert any(s.service == "realtoros-composer" and s.name.startswith("chat ") for s in spans)
    assert any(s.service == "realtoros-crm" and "db.system" in s.attributes for s in spans)
    # Every span but the tick's publish has its parent in the trace: one unbroken tree.
    roots = _roots(spans)
    assert [(r.service, r.name) for r in roots] == [("realtoros-scheduler", f"{tick} publish")]


def _samples(base_url: str) -> dict[str, list[tuple[dict[str, str], float]]]:
    text = httpx.get(f"{base_url}/metrics", timeout=5).raise_for_status().text
    found: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found.setdefault(sample.name, []).append((sample.labels, sample.value))
    return found


def _value(
    samples: dict[str, list[tuple[dict[str, str], float]]], name: str, **labels: str
) -> float:
    return sum(v for found, v in samples.get(name, []) if labels.items() <= found.items())


def test_every_service_serves_its_metrics(loop: Loop) -> None:
    ns = loop.ns

    # One EmailSent, consumed by two CRM durables: the email's recorder and the webhooks'.
    # The fixture waits for the recorder; the webhooks' durable may still be on its way.
    def both_consumed() -> dict[str, list[tuple[dict[str, str], float]]] | None:
        found = _samples(loop.procs["crm"].base_url)
        consumed = _value(
            found,
            "realtoros_crm_messages_consumed_total",
            service="crm",
            subject=ns.subject(EmailSent),
        )
        assert consumed <= 2, consumed
        return found if consumed == 2 else None

    crm = eventually_blocking(
        both_consumed, timeout=30, what="EmailSent consumed by both CRM durables"
    )
    assert _value(crm, "realtoros_crm_tasks_claimed_total") == 1
    assert _value(crm, "realtoros_crm_messages_published_total", subject=ns.subject(TaskDue)) == 1
    assert _value(crm, "realtoros_crm_nats_connected", service="crm") == 1
    durables = {labels["durable"] for labels, _ in crm["realtoros_crm_consumer_pending_messages"]}
    assert "crm-ticks" in durables

    scheduler = _samples(loop.procs["scheduler"].base_url)
    assert _value(scheduler, "realtoros_scheduler_leader") == 1
    assert _value(scheduler, "realtoros_scheduler_ticks_published") >= 1
    assert (
        _value(scheduler, "realtoros_scheduler_messages_published_total", service="scheduler") >= 1
    )

    def sampled(service: str) -> dict[str, list[tuple[dict[str, str], float]]] | None:
        found = _samples(loop.procs[service].base_url)
        return found if found.get(f"realtoros_{service}_consumer_pending_messages") else None

    for service, consumed in (("composer", TaskDue), ("mailer", EmailComposed)):
        samples = eventually_blocking(
            functools.partial(sampled, service),
            timeout=30,
            what=f"{service} consumer lag",
        )
        subject = ns.subject(consumed)
        prefix = f"realtoros_{service}_"
        assert _value(samples, f"{prefix}messages_consumed_total", subject=subject) == 1
        assert _value(samples, f"{prefix}messages_published_total", service=service) == 1
        assert f"{prefix}messages_dead_lettered_total" not in samples or (
            _value(samples, f"{prefix}messages_dead_lettered_total") == 0
        )
        assert "process_cpu_seconds_total" in samples


REQUIRED = {"time", "level", "service", "logger", "message"}


def test_json_logs_carry_the_trace_id(loop: Loop) -> None:
    def send_trace() -> str | None:
        return next(
            (
                s.trace_id
                for s in loop.spans.spans()
                if s.attributes.get("realtoros.email_id") == loop.email_id
            ),
            None,
        )

    trace_id = eventually_blocking(send_trace, timeout=30, what="the send's trace")
    traced_services = set()
    for name, proc in loop.procs.items():
        lines = [line for line in proc.logs().splitlines() if line.strip()]
        assert lines, name
        for line in lines:
            entry = json.loads(line)
            assert entry.keys() >= REQUIRED, line
            assert entry["service"] == name
            if entry.get("trace_id") == trace_id:
                assert len(entry["span_id"]) == 16
                traced_services.add(name)
    # The CRM logs the claim inside the tick's consume span.
    assert "crm" in traced_services
