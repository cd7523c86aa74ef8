"""The composer as the OS process it runs as, against the fake LLM as its own process."""

from __future__ import annotations

import asyncio
import json
import signal
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from nats.aio.client import Client as NatsClient
from nats.js import JetStreamContext

from realtoros_composer.app import DURABLE
from realtoros_contracts import EmailComposed, Namespace, TaskDue, decode, encode, envelope_headers
from tests.support.fake_llm import answer, launched
from tests.support.processes import ServiceProcess
from tests.support.samples import task_due
from tests.support.waiting import eventually

pytestmark = pytest.mark.e2e

KEY = "sk-test-process-never-logged"


@pytest.fixture
def fake_llm_process(tmp_path: Path) -> Iterator[str]:
    """The fake LLM as its own process; yields its root URL."""
    with launched(tmp_path) as url:
        yield url


async def test_the_composer_process_composes_with_the_llm(
    fake_llm_process: str,
    nats_url: str,
    namespace: Namespace,
    nats_client: NatsClient,
    tmp_path: Path,
) -> None:
    async with httpx.AsyncClient(base_url=fake_llm_process) as control:
        body = "Hi Maria,\n\nI hope your week is going well.\n\nShall we talk on Friday?" * 2
        script = {"behaviours": [answer("From the process", body)]}
        (await control.post("/_script", json=script)).raise_for_status()
        env = {
            "NATS_URL": nats_url,
            "NATS_NAMESPACE": namespace.name,
            "COMPOSER_MODE": "llm",
            "OPENAI_API_KEY": KEY,
            "OPENAI_BASE_URL": f"{fake_llm_process}/v1",
            "LOG_LEVEL": "DEBUG",
        }
        composer = ServiceProcess("composer", env, tmp_path).start()
        try:
            # a deadline, not a wait: start-up takes seconds, far more on a loaded machine
            await asyncio.to_thread(composer.wait_ready, 120)
            health = await control.get(f"{composer.base_url}/healthz")
            assert health.status_code == 200
            asyncapi = await control.get(f"{composer.base_url}/asyncapi.json")
            assert namespace.subject(TaskDue) in asyncapi.text
            composed = await _compose_one(nats_client.jetstream(), namespace)
            requests = (await control.get("/_requests")).json()["requests"]
        finally:
            code = composer.stop()
    assert composed.subject == "From the process"
    assert composed.composer == "llm"
    assert [r["has_api_key"] for r in requests] == [True]
    assert code in (0, -signal.SIGTERM)  # uvicorn re-raises the signal after a clean stop
    logs = composer.logs()
    assert "composing with the LLM: model gpt-4o-mini" in logs
    assert "Application shutdown complete" in logs
    assert KEY not in logs


async def _compose_one(js: JetStreamContext, ns: Namespace) -> EmailComposed:
    task = task_due()
    headers = envelope_headers(task, event_id=f"due:{uuid.uuid4()}", source="realtoros/crm")
    await js.publish(
        ns.subject(TaskDue), encode(task), headers=headers, stream=ns.stream_name("crm")
    )
    stream = ns.stream_name("composer")

    async def published() -> int:
        return (await js.stream_info(stream)).state.messages

    await eventually(published, timeout=15)
    msg = await js.get_msg(stream, 1)
    _, event = decode(EmailComposed, msg.headers, msg.data or b"")
    info = await js.consumer_info(ns.stream_name("crm"), DURABLE)
    assert info.config.durable_name == DURABLE
    assert json.loads(msg.data or b"{}")["email_id"] == str(task.email_id)
    return event
