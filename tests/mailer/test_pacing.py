"""Sending at the account's rate, and pausing (not failing) when SES says the daily quota
is used up or sending is paused."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
from botocore.exceptions import ClientError
from nats.aio.client import Client as NatsClient

from realtoros_contracts import EmailFailed, EmailSent, Namespace
from realtoros_mailer.pacing import SendingPause
from realtoros_mailer.transports import Transport
from realtoros_mailer.transports.ses import classify
from tests.mailer.helpers import (
    FailsFirst,
    composed,
    mailer_events,
    names_in,
    publish,
    run_mailer,
    settings_for,
    wait_event,
)
from tests.support.waiting import eventually


def test_pause_expires() -> None:
    now = [100.0]
    pause = SendingPause(clock=lambda: now[0])
    pause.pause("quota", 60)
    assert (pause.active, pause.reason) == (True, "quota")
    now[0] += 61
    assert (pause.active, pause.reason) == (False, None)


def _quota_error() -> BaseException:
    response: Any = {
        "Error": {"Code": "LimitExceededException", "Message": "Daily message quota exceeded."},
        "ResponseMetadata": {"HTTPStatusCode": 400},
    }
    known = classify(ClientError(response, "SendEmail"))
    assert known is not None
    return known


async def test_daily_quota_pauses_sending_and_the_email_waits_instead_of_failing(
    nats_url: str, namespace: Namespace, nats_client: NatsClient, tmp_path: Path
) -> None:
    js = nats_client.jetstream()
    event = composed()
    wrapped: list[FailsFirst] = []

    def wrap(transport: Transport) -> Transport:
        wrapped.append(FailsFirst(transport, _quota_error()))
        return wrapped[0]

    settings = settings_for(
        nats_url, namespace, mail_outbox_dir=tmp_path, mail_pause_seconds=2.0, max_deliveries=2
    )
    async with run_mailer(settings, wrap_transport=wrap) as mailer:
        transport = httpx.ASGITransport(app=mailer.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://m.test") as http:
            await publish(js, namespace, event)

            async def paused() -> dict[str, Any] | None:
                status: dict[str, Any] = (await http.get("/status")).json()
                return status if status["sending"] == "paused" else None

            status = await eventually(paused, what="/status to report the pause")
            metrics = (await http.get("/metrics")).text
            # Still ready: it must keep taking SES notifications while it cannot send.
            ready_while_paused = await http.get("/readyz")
            sent = await wait_event(js, namespace, EmailSent, event.email_id)
            after = (await http.get("/status")).json()
            metrics_after = (await http.get("/metrics")).text

    assert "Daily message quota exceeded" in status["paused_reason"]
    assert 0 < status["paused_for_seconds"] <= 2
    assert "realtoros_mailer_sending_paused 1.0" in metrics
    assert ready_while_paused.status_code == 200
    assert after["sending"] == "active"
    assert "realtoros_mailer_sending_paused 0.0" in metrics_after
    assert sent.provider_message_id == f"file:{event.email_id}"
    assert wrapped[0].calls == 2
    assert await mailer_events(js, namespace, EmailFailed) == []
    assert names_in(tmp_path) == [f"{event.email_id}.eml"]
