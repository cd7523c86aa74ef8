"""The loop listens, end to end: the four services as OS processes. A three-step plan
sends step 1; the client replies (over real SMTP to the mailer's inbound server, or as a
signed SNS notification carrying the raw MIME); the plan pauses, steps 2 and 3 are never
sent, the reply is on the timeline; resume sends step 2."""

from __future__ import annotations

import base64
import json
import secrets
import smtplib
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path
from typing import Any, cast

import httpx
import pytest

from realtoros_contracts import Namespace
from realtoros_devstack.embedded import free_port
from tests.mailer.sns_fake import FakeSns
from tests.support.processes import ServiceProcess
from tests.support.stack import running, stack_env
from tests.support.waiting import eventually

pytestmark = pytest.mark.e2e
Stack = tuple[dict[str, "ServiceProcess"], Path, int]

DOMAIN = "replies.realtoros.test"
STEPS = [{"delay_days": d, "purpose": p} for d, p in ((0, "Step 1"), (3, "Step 2"), (7, "Step 3"))]


@pytest.fixture(scope="module")
def sns() -> Iterator[FakeSns]:
    with FakeSns() as fake:
        yield fake


@pytest.fixture
def stack(
    run_dir: Path,
    nats_url: str,
    namespace: Namespace,
    nats_client: Any,
    database_url: str,
    sns: FakeSns,
) -> Iterator[Stack]:
    log_dir = run_dir / f"replies-{namespace.name}"
    outbox = log_dir / "outbox"
    outbox.mkdir(parents=True)
    smtp_port = free_port()
    mailer = {
        "MAIL_TRANSPORT": "file",
        "MAIL_OUTBOX_DIR": str(outbox),
        "MAIL_INBOUND_DOMAIN": DOMAIN,
        "MAIL_REPLY_SECRET": secrets.token_hex(32),
        "MAIL_INBOUND_SMTP_PORT": str(smtp_port),
        "SNS_CERT_URL_PATTERN": sns.url_pattern,
    }
    env = stack_env(nats_url, namespace, database_url, llm_url=None, mailer=mailer)
    with running(env, log_dir) as procs:
        yield procs, outbox, smtp_port


async def ok(response: httpx.Response) -> Any:
    assert response.status_code < 300, response.text
    return response.json() if response.content else None


async def agent(http: httpx.AsyncClient) -> None:
    body = {
        "email": "dana@harbor.example",
        "password": "correct horse battery",
        "name": "Dana",
        # Without both, nothing is sent automatically (CAN-SPAM, issue 20).
        "signature": "Dana",
        "postal_address": "1 Harbor Way, Salem, MA 01970",
    }
    await ok(await http.post("/auth/register", json=body))
    login = await ok(
        await http.post("/auth/login", json={k: body[k] for k in ("email", "password")})
    )
    http.headers["authorization"] = f"Bearer {login['access_token']}"
    every_hour = {
        "sending_days": [1, 2, 3, 4, 5, 6, 7],
        "sending_start": "00:00",
        "sending_end": "23:59",
    }
    await ok(await http.patch("/me", json=every_hour))


async def make_due(http: httpx.AsyncClient, task: dict[str, Any]) -> None:
    due = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    await ok(await http.patch(f"/tasks/{task['id']}", json={"due_at": due}))


async def due_now(http: httpx.AsyncClient, task: dict[str, Any]) -> None:
    """Make a plan's first step due now, unless it already is: a step of delay 0 applied
    after the agent's send time of day is due at once and may be claimed before this."""
    due = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    response = await http.patch(f"/tasks/{task['id']}", json={"due_at": due})
    if response.status_code == 409:  # claimed already: on its way, as wanted
        return
    await ok(response)


async def task_status(http: httpx.AsyncClient, task_id: str, status: str) -> dict[str, Any]:
    async def probe() -> dict[str, Any] | None:
        task = await ok(await http.get(f"/tasks/{task_id}"))
        return cast(dict[str, Any], task) if task["status"] == status else None

    return cast(dict[str, Any], await eventually(probe, timeout=90, interval=0.3, what=status))


def sent_message(outbox: Path, email_id: str) -> EmailMessage:
    for path in outbox.glob("*.eml"):
        msg = message_from_bytes(path.read_bytes(), policy=default_policy)
        if email_id in str(msg["Message-ID"]):
            return msg
    raise AssertionError(f"no .eml for email {email_id}")


def client_reply(sender: str, to: str, in_reply_to: str) -> bytes:
    msg = EmailMessage()
    msg["From"] = f"Jordan Lee <{sender}>"
    msg["To"] = to
    msg["Subject"] = "Re: your follow-up"
    msg["Message-ID"] = f"<{uuid.uuid4().hex}@mail.example.com>"
    msg["In-Reply-To"] = in_reply_to
    msg.set_content("Thursday at 4 works for me.\n\nOn Mon, Dana wrote:\n> Any questions?\n")
    return msg.as_bytes()


def send_over_smtp(port: int, to: str, raw: bytes) -> None:
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as smtp:
        smtp.sendmail("client@example.com", [to], raw)


async def send_over_sns(mailer: ServiceProcess, sns: FakeSns, to: str, raw: bytes) -> None:
    receipt = {
        "notificationType": "Received",
        "mail": {
            "timestamp": datetime.now(UTC).isoformat(),
            "source": "client@example.com",
            "destination": [to],
        },
        "receipt": {
            "recipients": [to],
            "spfVerdict": {"status": "PASS"},
            "dkimVerdict": {"status": "PASS"},
            "dmarcVerdict": {"status": "PASS"},
            "action": {
                "type": "SNS",
                "topicArn": "arn:aws:sns:us-east-1:1:inbound",
                "encoding": "BASE64",
            },
        },
        "content": base64.b64encode(raw).decode(),
    }
    note = sns.notification(receipt)
    async with httpx.AsyncClient(base_url=mailer.base_url, timeout=30) as http:
        response = await http.post("/ses/notifications", content=json.dumps(note).encode())
    assert response.text == "replied\n", response.text


@dataclass
class Follow:
    """One client's plan in the test: the run and its three steps."""

    client: dict[str, Any]
    run: dict[str, Any]
    steps: list[dict[str, Any]]


async def plan_for(http: httpx.AsyncClient, email: str) -> Follow:
    client = await ok(await http.post("/clients", json={"name": "Jordan Lee", "email": email}))
    plan = await ok(await http.post("/plans", json={"name": f"For {email}", "steps": STEPS}))
    body = {"plan_id": plan["id"]}
    run = await ok(await http.post(f"/clients/{client['id']}/plans", json=body))
    steps = await ok(await http.get(f"/tasks?plan_run_id={run['id']}"))
    return Follow(client, run, sorted(steps, key=lambda t: t["step_position"]))


async def reply_to_step_one(
    http: httpx.AsyncClient, follow: Follow, door: str, stack: Stack, sns: FakeSns
) -> None:
    procs, outbox, smtp_port = stack
    await due_now(http, follow.steps[0])
    step1 = await task_status(http, follow.steps[0]["id"], "sent")
    sent = sent_message(outbox, step1["email"]["id"])
    reply_to = sent["Reply-To"].addresses[0].addr_spec
    assert reply_to.endswith("@" + DOMAIN)
    raw = client_reply(follow.client["email"], reply_to, str(sent["Message-ID"]))
    if door == "smtp":
        send_over_smtp(smtp_port, reply_to, raw)
    else:
        await send_over_sns(procs["mailer"], sns, reply_to, raw)

    async def paused() -> dict[str, Any] | None:
        current = await ok(await http.get(f"/plan-runs/{follow.run['id']}"))
        return cast(dict[str, Any], current) if current["status"] == "paused" else None

    current: dict[str, Any] = await eventually(paused, timeout=60, interval=0.3, what="paused")
    assert current["pause_reason"] == "client replied"


async def claims_go_on(http: httpx.AsyncClient) -> None:
    """A task of another client is claimed and sent: the CRM kept claiming meanwhile."""
    control = await ok(await http.post("/clients", json={"name": "C", "email": "c@example.com"}))
    due = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    probe = await ok(await http.post("/tasks", json={"client_id": control["id"], "due_at": due}))
    await task_status(http, probe["id"], "sent")


async def status_of(http: httpx.AsyncClient, task: dict[str, Any]) -> str:
    return str((await ok(await http.get(f"/tasks/{task['id']}")))["status"])


async def test_a_reply_by_smtp_or_sns_pauses_the_plan_and_resume_sends_the_next_step(
    stack: Stack, sns: FakeSns
) -> None:
    doors = {"smtp": "jordan.smtp@example.com", "sns": "jordan.sns@example.com"}
    async with httpx.AsyncClient(base_url=stack[0]["crm"].base_url, timeout=30) as http:
        await agent(http)
        follows = {door: await plan_for(http, email) for door, email in doors.items()}
        for door, follow in follows.items():
            await reply_to_step_one(http, follow, door, stack, sns)
            await make_due(http, follow.steps[1])  # step 2 falls due while paused
        await claims_go_on(http)
        for follow in follows.values():
            assert [await status_of(http, t) for t in follow.steps[1:]] == ["pending", "pending"]
            timeline = await ok(await http.get(f"/clients/{follow.client['id']}/timeline"))
            assert any("Thursday at 4 works for me." in i["summary"] for i in timeline)
            assert not any("Any questions?" in i["summary"] for i in timeline)
        replies = await ok(await http.get("/replies?unanswered=true"))
        assert sorted(r["from_email"] for r in replies) == sorted(doors.values())
        for follow in follows.values():
            await ok(await http.post(f"/plan-runs/{follow.run['id']}/resume"))
            await task_status(http, follow.steps[1]["id"], "sent")
            assert await status_of(http, follow.steps[2]) == "pending"
    forwards = [m for m in all_messages(stack[1]) if "dana@harbor.example" in str(m["To"])]
    assert sorted(str(m["Reply-To"].addresses[0].addr_spec) for m in forwards) == sorted(
        doors.values()
    )


def all_messages(outbox: Path) -> list[EmailMessage]:
    return [message_from_bytes(p.read_bytes(), policy=default_policy) for p in outbox.glob("*.eml")]
