"""Never twice: the mailer process is SIGKILLed after SES accepted an email but before it
heard back. The restarted mailer gets the message again and reports the email ``unknown``
(check before resending) instead of sending a second copy."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from nats.aio.client import Client as NatsClient
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from realtoros_contracts import EmailComposed, EmailFailed, EmailSent, Namespace
from realtoros_mailer.handlers import COMPOSED_DURABLE
from realtoros_runtime.streams import ensure_streams
from tests.mailer.helpers import SES_FROM, composed, mailer_events, publish
from tests.mailer.slow_ses import SlowSes
from tests.mailer.test_process import _ready
from tests.support.moto_ses import MotoSes
from tests.support.processes import ServiceProcess
from tests.support.waiting import eventually


async def _short_ack_wait_durable(nc: NatsClient, ns: Namespace) -> None:
    """The mailer's durable, created before the mailer with a short ack wait so that the
    killed process's message is redelivered within seconds (the mailer binds to an existing
    durable as it is); production keeps the mailer's own 60 s."""
    js = nc.jetstream()
    await ensure_streams(js, ns)
    await js.add_consumer(
        ns.stream_name("composer"),
        ConsumerConfig(
            durable_name=COMPOSED_DURABLE,
            filter_subject=ns.subject(EmailComposed),
            ack_policy=AckPolicy.EXPLICIT,
            deliver_policy=DeliverPolicy.ALL,
            ack_wait=2.0,
            max_deliver=-1,
        ),
    )


@pytest.mark.e2e
async def test_killed_between_send_and_result_reports_unknown_and_sends_once(
    nats_url: str, namespace: Namespace, nats_client: NatsClient, moto_ses: MotoSes, tmp_path: Path
) -> None:
    js = nats_client.jetstream()
    await _short_ack_wait_durable(nats_client, namespace)
    proxy = await SlowSes(moto_ses.endpoint_url).start()
    env = {
        "NATS_URL": nats_url,
        "NATS_NAMESPACE": namespace.name,
        **moto_ses.mailer_env(SES_FROM),
        "SES_ENDPOINT_URL": proxy.url,
        # The killed mailer's claim counts as a send in progress for this long (default
        # 90 s); the second mailer reports unknown only after it.
        "MAIL_CLAIM_GRACE_SECONDS": "6",
    }
    first = ServiceProcess("mailer", env, tmp_path, name="mailer-1")
    second = ServiceProcess("mailer", env, tmp_path, name="mailer-2")
    event = composed()
    try:
        first.start()
        await eventually(_ready(first), timeout=120, what="the first mailer")
        await publish(js, namespace, event)
        await eventually(proxy.send_reached_ses.wait, timeout=60, what="SendEmail at SES")
        first.kill()  # SIGKILL: SES has the email, the mailer never heard back

        kv = await js.key_value(namespace.bucket("send_ledger"))
        entry = json.loads((await kv.get(str(event.email_id))).value or b"{}")
        assert entry["state"] == "claimed"
        claimed_at = datetime.fromisoformat(entry["at"])

        proxy.hold_send = False
        second.start()
        await eventually(_ready(second), timeout=120, what="the second mailer")

        async def reported() -> list[EmailFailed]:
            return await mailer_events(js, namespace, EmailFailed)

        [failed] = await eventually(reported, timeout=60, what="EmailFailed")
    finally:
        first.stop()
        second.stop()
        await proxy.stop()

    assert failed.outcome == "unknown"
    assert "not sent again" in failed.reason
    # Not before the claim grace: until then the first mailer might still be sending.
    assert failed.failed_at - claimed_at >= timedelta(seconds=6)
    assert len(moto_ses.sent_emails(email_id=str(event.email_id))) == 1
    assert await mailer_events(js, namespace, EmailSent) == []
    entry = json.loads((await kv.get(str(event.email_id))).value or b"{}")
    assert entry["state"] == "unknown"
