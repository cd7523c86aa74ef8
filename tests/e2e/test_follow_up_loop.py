"""The follow-up loop end to end: the four services as real OS processes, real NATS and
PostgreSQL, the fake LLM in its own process and moto's SES server."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from realtoros_contracts import Namespace
from tests.support.fake_llm import launched
from tests.support.moto_ses import MotoSes
from tests.support.processes import ServiceProcess
from tests.support.stack import AGENT, AGENT_LOGIN, running, stack_env
from tests.support.waiting import eventually

pytestmark = pytest.mark.e2e

TASKS = 100
CLIENTS = 20
SENDER = "notifications@mail.realtoros.test"


@pytest.fixture
def fake_llm_url(run_dir: Path) -> Iterator[str]:
    """The fake LLM as its own process; its OPENAI_BASE_URL."""
    with launched(run_dir) as url:
        yield f"{url}/v1"


@pytest.fixture
def moto() -> Iterator[MotoSes]:
    with MotoSes() as server:
        server.verify_sender(SENDER)
        yield server


@pytest.fixture
def services(
    run_dir: Path,
    nats_url: str,
    namespace: Namespace,
    nats_client: Any,
    database_url: str,
    fake_llm_url: str,
    moto: MotoSes,
) -> Iterator[dict[str, ServiceProcess]]:
    log_dir = run_dir / f"e2e-{namespace.name}"
    log_dir.mkdir()
    mailer = moto.mailer_env(SENDER)
    env = stack_env(nats_url, namespace, database_url, llm_url=fake_llm_url, mailer=mailer)
    with running(env, log_dir, ready_timeout=60) as procs:
        yield procs


async def sign_up(http: httpx.AsyncClient) -> None:
    (await http.post("/auth/register", json=AGENT)).raise_for_status()
    login = await http.post("/auth/login", json=AGENT_LOGIN)
    login.raise_for_status()
    http.headers["authorization"] = f"Bearer {login.json()['access_token']}"


async def test_a_hundred_follow_ups_due_at_once_are_each_sent_exactly_once(
    services: dict[str, ServiceProcess], moto: MotoSes
) -> None:
    async with httpx.AsyncClient(base_url=services["crm"].base_url, timeout=10) as http:
        await sign_up(http)
        clients = []
        for n in range(CLIENTS):
            created = await http.post(
                "/clients",
                json={
                    "name": f"Client {n}",
                    "email": f"client{n}@example.com",
                    "property_address": f"{n} Elm St",
                },
            )
            created.raise_for_status()
            clients.append(created.json()["id"])
        now = datetime.now(UTC).isoformat()
        task_ids = []
        for n in range(TASKS):
            created = await http.post(
                "/tasks",
                json={"client_id": clients[n % CLIENTS], "due_at": now, "purpose": "Day 1"},
            )
            created.raise_for_status()
            task_ids.append(created.json()["id"])

        async def all_final() -> list[dict[str, Any]] | None:
            tasks = [(await http.get(f"/tasks/{task_id}")).json() for task_id in task_ids]
            return tasks if all(t["status"] not in _IN_FLIGHT for t in tasks) else None

        tasks: list[dict[str, Any]] = await eventually(
            all_final, timeout=120, interval=0.5, what="all tasks final"
        )

    statuses = Counter(t["status"] for t in tasks)
    assert statuses == {"sent": TASKS}, _logs(services)
    emails = {t["email"]["id"]: t["email"] for t in tasks}
    assert len(emails) == TASKS
    assert all(e["subject"] and e["body_text"] for e in emails.values())

    sent = moto.sent_messages()
    sent_ids = Counter(m.email_id for m in sent)
    assert len(sent) == TASKS
    assert set(sent_ids) == set(emails)
    assert max(sent_ids.values()) == 1
    assert {m.message_id for m in sent} == {e["provider_message_id"] for e in emails.values()}


_IN_FLIGHT = {"pending", "composing", "sending"}


def _logs(services: dict[str, ServiceProcess]) -> str:
    return "\n".join(f"--- {name}\n{p.logs()[-3000:]}" for name, p in services.items())
