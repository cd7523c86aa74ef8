"""The four services as processes, each with its own least-privilege NATS user on a server
of the test's own: a follow-up sent, a draft requested and approved, a client
unsubscribed and a malformed message dead-lettered. Every subject published meanwhile is
described as a ``send`` operation by the document of the service that published it, and
each service did it all with its own user."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from nats.aio.msg import Msg

from realtoros_contracts import (
    ClientUnsubscribed,
    DraftRequested,
    EmailApproved,
    EmailComposed,
    EmailSent,
    Namespace,
    TaskDue,
)
from realtoros_contracts.consumers import SERVICE_DURABLES
from realtoros_runtime.asyncapi import channel_addresses
from tests.e2e.test_follow_up_loop import sign_up
from tests.support.auth_nats import AuthNats, auth_nats
from tests.support.processes import ServiceProcess
from tests.support.stack import running
from tests.support.waiting import eventually

pytestmark = pytest.mark.e2e

NS = Namespace("catalogue")


@pytest.fixture
def server(run_dir: Path) -> Iterator[AuthNats]:
    with auth_nats(run_dir / f"catalogue-{secrets.token_hex(4)}", [NS]) as running:
        yield running


@pytest.fixture
def services(
    run_dir: Path, server: AuthNats, database_url: str
) -> Iterator[dict[str, ServiceProcess]]:
    log_dir = run_dir / f"catalogue-logs-{secrets.token_hex(4)}"
    log_dir.mkdir()
    extra: dict[str, dict[str, str]] = {
        "crm": {"DATABASE_URL": database_url, "JWT_SECRET": secrets.token_hex(32)},
        "scheduler": {"TICK_INTERVAL_SECONDS": "0.5"},
        "composer": {"COMPOSER_MODE": "template"},
        "mailer": {"MAIL_TRANSPORT": "file", "MAIL_OUTBOX_DIR": str(log_dir / "outbox")},
    }
    envs = {}
    for name, env in extra.items():
        user, password = server.credentials(NS, name)
        common = {"NATS_URL": server.url, "NATS_NAMESPACE": NS.name}
        envs[name] = {**common, "NATS_USER": user, "NATS_PASSWORD": password, **env}
    with running(envs, log_dir, ready_timeout=90) as procs:
        yield procs


@pytest.fixture
async def published(server: AuthNats) -> AsyncIterator[list[str]]:
    """Every subject of the namespace a message is published on (as the admin sees it)."""
    subjects: list[str] = []

    async def record(msg: Msg) -> None:
        subjects.append(msg.subject)

    admin = await server.connect(NS, "admin")
    await admin.subscribe(f"{NS.name}.>", cb=record)
    yield subjects
    await admin.close()


async def follow_up_and_decisions(http: httpx.AsyncClient) -> None:
    """Tick → TaskDue → EmailComposed → EmailSent; DraftRequested → EmailApproved; an
    unsubscribe."""
    await sign_up(http)
    client = await http.post("/clients", json={"name": "Jo Lee", "email": "jo@example.com"})
    client.raise_for_status()
    client_id = client.json()["id"]
    due = {"client_id": client_id, "due_at": datetime.now(UTC).isoformat(), "purpose": "Day 1"}
    task = (await http.post("/tasks", json=due)).json()
    await _wait_task(http, task["id"], "sent")
    draft = await http.post(f"/clients/{client_id}/drafts", json={"instructions": "Say hi"})
    draft.raise_for_status()
    email_id, task_id = draft.json()["email_id"], draft.json()["task_id"]

    await _wait_for(http, f"/emails/{email_id}", "awaiting_approval")
    (await http.post(f"/tasks/{task_id}/draft/approve")).raise_for_status()
    await _wait_task(http, task_id, "sent")
    (await http.patch(f"/clients/{client_id}", json={"unsubscribed": True})).raise_for_status()


async def _wait_task(http: httpx.AsyncClient, task_id: str, status: str) -> None:
    await _wait_for(http, f"/tasks/{task_id}", status)


async def _wait_for(http: httpx.AsyncClient, path: str, status: str) -> None:
    async def reached() -> dict[str, Any] | None:
        found: dict[str, Any] = (await http.get(path)).json()
        return found if found["status"] == status else None

    done: dict[str, Any] = await eventually(reached, timeout=90, interval=0.2, what=status)
    assert done["status"] == status


async def documents(services: dict[str, ServiceProcess]) -> dict[str, dict[str, Any]]:
    async with httpx.AsyncClient(timeout=10) as http:
        return {
            name: (await http.get(f"{proc.base_url}/asyncapi.json")).json()
            for name, proc in services.items()
        }


async def test_every_subject_published_is_described_by_its_services_document(
    services: dict[str, ServiceProcess], server: AuthNats, published: list[str]
) -> None:
    async with httpx.AsyncClient(base_url=services["crm"].base_url, timeout=10) as http:
        await follow_up_and_decisions(http)
    admin = await server.connect(NS, "admin")  # a malformed message: the mailer dead-letters
    await admin.jetstream().publish(
        NS.subject(EmailApproved), b"{", headers={"ce-id": "broken"}, stream="CATALOGUE_CRM"
    )
    await admin.close()
    dead_letters = NS.dead_letter_subject("mailer")
    await eventually(lambda: dead_letters in published, timeout=30, what="the dead letter")

    sent_by = {
        name: set(channel_addresses(doc, "send"))
        for name, doc in (await documents(services)).items()
    }
    undescribed = {s for s in published if not any(s in sends for sends in sent_by.values())}
    assert not undescribed, f"published but in no AsyncAPI document: {sorted(undescribed)}"
    for subject in set(published) - {NS.subject(EmailApproved)}:  # the test forged that one
        producer = subject.split(".")[1]
        owner = "mailer" if producer == "deadletter" else producer
        assert subject in sent_by[owner], f"{subject} is not in the {owner}'s document"
    expected = {
        NS.tick_subject("due-tasks"),
        *(NS.subject(e) for e in (TaskDue, EmailComposed, EmailSent, DraftRequested)),
        *(NS.subject(e) for e in (EmailApproved, ClientUnsubscribed)),
        dead_letters,
    }
    assert expected <= set(published)  # the run did exercise the catalogue
    await the_durables_are_the_ones_the_permissions_protect(server)


async def the_durables_are_the_ones_the_permissions_protect(server: AuthNats) -> None:
    """The read-only user is denied exactly SERVICE_DURABLES: the services create no other."""
    admin = await server.connect(NS, "admin")
    js = admin.jetstream()
    created = set()
    for spec in NS.streams():
        created |= {c.name for c in await js.consumers_info(spec.name)}
    await admin.close()
    protected = {name for names in SERVICE_DURABLES.values() for name in names}
    assert created, "the services created no durable"
    assert created <= protected, f"not in SERVICE_DURABLES: {sorted(created - protected)}"
