"""The mailer as a real OS process (python -m realtoros_mailer) against moto's SES."""

from __future__ import annotations

import signal
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from nats.aio.client import Client as NatsClient

from realtoros_contracts import EmailSent, Namespace
from tests.mailer.helpers import SES_FROM, composed, publish, wait_event
from tests.support.moto_ses import MotoSes
from tests.support.processes import ServiceProcess
from tests.support.waiting import eventually


@pytest.mark.e2e
async def test_mailer_process_sends_through_ses(
    nats_url: str, namespace: Namespace, nats_client: NatsClient, moto_ses: MotoSes, tmp_path: Path
) -> None:
    env = {"NATS_URL": nats_url, "NATS_NAMESPACE": namespace.name, **moto_ses.mailer_env(SES_FROM)}
    mailer = ServiceProcess("mailer", env, tmp_path)
    js = nats_client.jetstream()
    event = composed()
    try:
        mailer.start()
        await eventually(_ready(mailer), timeout=120, what="the mailer to be ready")
        await publish(js, namespace, event)
        sent = await wait_event(js, namespace, EmailSent, event.email_id)
    finally:
        code = mailer.stop()

    [email] = moto_ses.sent_emails(email_id=str(event.email_id))
    assert sent.provider_message_id == email.message_id
    # uvicorn re-raises SIGTERM after a graceful shutdown, so -SIGTERM is a clean exit too.
    assert code in (0, -signal.SIGTERM), mailer.logs()[-4000:]
    assert "Application shutdown complete" in mailer.logs()


def _ready(mailer: ServiceProcess) -> Callable[[], Awaitable[bool]]:
    import httpx

    async def probe() -> bool:
        if mailer.proc is not None and mailer.proc.poll() is not None:
            raise AssertionError(f"mailer exited:\n{mailer.logs()[-4000:]}")
        try:
            async with httpx.AsyncClient() as client:
                response = await client.get(f"{mailer.base_url}/readyz", timeout=1.0)
        except httpx.HTTPError:
            return False
        return response.status_code == 200

    return probe
