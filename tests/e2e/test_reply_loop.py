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
from tests.support.waiting import eventually

pytestmark = pytest.mark.e2e

DOMAIN = "replies.realtoros.test"
CLIENT = "jordan.lee@example.com"
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
) -> Iterator[tuple[dict[str, ServiceProcess], Path, int]]:
    log_dir = run_dir / f"replies-{namespace.name}"
    outbox = log_dir / "outbox"
    outbox.mkdir(parents=True)
    smtp_port = free_port()
    common = {"NATS_URL": nats_url, "NATS_NAMESPACE": namespace.name, "LOG_LEVEL": "INFO"}
    mailer = {
        **common,
        "MAIL_TRANSPORT": "file",
        "MAIL_OUTBOX_DIR": str(outbox),
        "MAIL_INBOUND_DOMAIN": DOMAIN,
        "MAIL_REPLY_SECRET": secrets.token_hex(32),
        "MAIL_INBOUND_SMTP_PORT": str(smtp_port),
        "SNS_CERT_URL_PATTERN": sns.url_pattern,
    }
    crm = {**common, "DATABASE_URL": database_url, "JWT_SECRET": secrets.token_hex(32)}
    procs = {
        "crm": ServiceProcess("crm", crm, log_dir),
        "scheduler": ServiceProcess(
            "scheduler", {**common, "TICK_INTERVAL_SECONDS": "0.5"}, log_dir
        ),
        "composer": ServiceProcess("composer", {**common, "COMPOSER_MODE": "template"}, log_dir),
        "mailer": ServiceProcess("mailer", mailer, log_dir),
    }
    try:
        for proc in procs.values():
            proc.start()
        for proc in procs.values():
            proc.wait_ready(180)
        yield procs, outbox, smtp_port
    finally:
        for proc in procs.values():
            proc.stop()


async def ok(response: httpx.Response) -> Any:
    assert response.status_code < 300, response.text
    return response.json() if response.content else None


async def agent(http: httpx.AsyncClient) -> None:
    body = {"email": "dana@harbor.example", "password": "correct horse battery", "name": "Dana"}
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


def client_reply(to: str, in_reply_to: str) -> bytes:
    msg = EmailMessage()
    msg["From"] = f"Jordan Lee <{CLIENT}>"
    msg["To"] = to
    msg["Subject"] = "Re: your follow-up"
    msg["Message-ID"] = f"<{uuid.uuid4().hex}@mail.example.com>"
    msg["In-Reply-To"] = in_reply_to
    msg.set_content("Thursday at 4 works for me.\n\nOn Mon, Dana wrote:\n> Any questions?\n")
    return msg.as_bytes()


def send_over_smtp(port: int, to: str, raw: bytes) -> None:
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as smtp:
        smtp.sendmail(CLIENT, [to], raw)


async def send_over_sns(mailer: ServiceProcess, sns: FakeSns, to: str, raw: bytes) -> None:
    receipt = {
        "notificationType": "Received",
        "mail": {"timestamp": datetime.now(UTC).isoformat(), "source": CLIENT, "destination": [to]},
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


@pytest.mark.parametrize("door", ["smtp", "sns"])
async def test_a_reply_pauses_the_plan_and_resume_sends_the_next_step(
    stack: tuple[dict[str, ServiceProcess], Path, int], sns: FakeSns, door: str
) -> None:
    procs, outbox, smtp_port = stack
    async with httpx.AsyncClient(base_url=procs["crm"].base_url, timeout=30) as http:
        await agent(http)
        client = await ok(await http.post("/clients", json={"name": "Jordan Lee", "email": CLIENT}))
        plan = await ok(await http.post("/plans", json={"name": "Three steps", "steps": STEPS}))
        run = await ok(
            await http.post(f"/clients/{client['id']}/plans", json={"plan_id": plan["id"]})
        )
        step1, step2, step3 = sorted(
            await ok(await http.get(f"/tasks?plan_run_id={run['id']}")),
            key=lambda t: t["step_position"],
        )
        await make_due(http, step1)
        step1 = await task_status(http, step1["id"], "sent")
        sent = sent_message(outbox, step1["email"]["id"])
        reply_to = sent["Reply-To"].addresses[0].addr_spec
        assert reply_to.endswith("@" + DOMAIN)
        raw = client_reply(reply_to, str(sent["Message-ID"]))
        if door == "smtp":
            send_over_smtp(smtp_port, reply_to, raw)
        else:
            await send_over_sns(procs["mailer"], sns, reply_to, raw)

        async def paused() -> dict[str, Any] | None:
            current = await ok(await http.get(f"/plan-runs/{run['id']}"))
            return cast(dict[str, Any], current) if current["status"] == "paused" else None

        current: dict[str, Any] = await eventually(
            paused, timeout=60, interval=0.3, what="the plan paused"
        )
        assert current["pause_reason"] == "client replied"
        # Step 2 falls due while the plan is paused; a control task proves the CRM kept
        # claiming (ticks went on) and still left step 2 alone.
        await make_due(http, step2)
        control = await ok(
            await http.post("/clients", json={"name": "C", "email": "c@example.com"})
        )
        due = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
        probe = await ok(
            await http.post("/tasks", json={"client_id": control["id"], "due_at": due})
        )
        await task_status(http, probe["id"], "sent")
        assert (await ok(await http.get(f"/tasks/{step2['id']}")))["status"] == "pending"
        assert (await ok(await http.get(f"/tasks/{step3['id']}")))["status"] == "pending"
        timeline = await ok(await http.get(f"/clients/{client['id']}/timeline"))
        assert any("Thursday at 4 works for me." in item["summary"] for item in timeline)
        assert not any("Any questions?" in item["summary"] for item in timeline)
        replies = await ok(await http.get("/replies?unanswered=true"))
        assert [r["text"] for r in replies] == ["Thursday at 4 works for me."]
        await ok(await http.post(f"/plan-runs/{run['id']}/resume"))
        await task_status(http, step2["id"], "sent")
        assert (await ok(await http.get(f"/tasks/{step3['id']}")))["status"] == "pending"
    forwarded = [
        m
        for p in outbox.glob("*.eml")
        if (m := message_from_bytes(p.read_bytes(), policy=default_policy))["To"]
        and "dana@harbor.example" in str(m["To"])
    ]
    assert len(forwarded) == 1
    assert CLIENT in str(forwarded[0]["Reply-To"])
