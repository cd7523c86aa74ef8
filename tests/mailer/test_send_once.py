"""The send ledger: an email id is sent at most once, whatever is redelivered or crashes."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from nats.aio.client import Client as NatsClient
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js import JetStreamContext
from nats.js.errors import KeyNotFoundError

from realtoros_contracts import EmailComposed, EmailFailed, EmailSent, Namespace
from realtoros_mailer.handlers import APPROVED_DURABLE, COMPOSED_DURABLE
from realtoros_mailer.transports import SendNotAttempted, Transport
from realtoros_runtime.consuming import RetryPolicy
from tests.mailer.helpers import (
    SES_FROM,
    FailsFirst,
    R,
    approved,
    composed,
    delivery,
    mailer_events,
    names_in,
    publish,
    run_mailer,
    settings_for,
    wait_event,
)
from tests.mailer.test_ses import ses_settings
from tests.support.moto_ses import MotoSes
from tests.support.streams import stream_messages, wait_consumed
from tests.support.waiting import eventually

FAST_RETRY = RetryPolicy(max_deliveries=3, base_delay=0.05, max_delay=0.2)


async def ledger_entry(nc: NatsClient, ns: Namespace, key: str) -> dict[str, object]:
    kv = await nc.jetstream().key_value(ns.bucket("send_ledger"))
    entry = await kv.get(key)
    return dict(json.loads(entry.value or b"{}"))


async def test_same_email_twice_is_sent_once(
    nats_url: str, namespace: Namespace, nats_client: NatsClient, moto_ses: MotoSes
) -> None:
    js = nats_client.jetstream()
    event = composed()
    same_email_approved = approved(
        email_id=event.email_id,
        task_id=event.task_id,
        agent_id=event.agent_id,
        client_id=event.client_id,
    )
    async with run_mailer(ses_settings(nats_url, namespace, moto_ses)):
        await publish(js, namespace, event, event_id="composed:first")
        first = await wait_event(js, namespace, EmailSent, event.email_id)
        again = await publish(js, namespace, event, event_id="composed:second")
        await wait_consumed(js, namespace.stream_name("composer"), COMPOSED_DURABLE, again.seq)
        late = await publish(js, namespace, same_email_approved)
        await wait_consumed(js, namespace.stream_name("crm"), APPROVED_DURABLE, late.seq)

    assert len(moto_ses.sent_emails(email_id=str(event.email_id))) == 1
    # Re-published with the same event id: JetStream kept one EmailSent.
    sent = await mailer_events(js, namespace, EmailSent)
    assert [s.email_id for s in sent] == [event.email_id]
    assert sent[0].provider_message_id == first.provider_message_id
    assert await mailer_events(js, namespace, EmailFailed) == []
    entry = await ledger_entry(nats_client, namespace, str(event.email_id))
    assert entry["state"] == "sent"
    assert entry["message_id"] == first.provider_message_id


async def test_claim_without_result_reports_unknown_and_does_not_send(
    nats_url: str, namespace: Namespace, nats_client: NatsClient, moto_ses: MotoSes
) -> None:
    js = nats_client.jetstream()
    event = composed()
    key = str(event.email_id)
    crashed_at = datetime.now(UTC) - timedelta(minutes=3)
    async with run_mailer(ses_settings(nats_url, namespace, moto_ses)):
        # A previous mailer claimed the email and died before recording the result.
        kv = await js.key_value(namespace.bucket("send_ledger"))
        await kv.create(
            key, json.dumps({"state": "claimed", "at": crashed_at.isoformat()}).encode()
        )
        await publish(js, namespace, event)
        failed = await wait_event(js, namespace, EmailFailed, event.email_id)
        again = await publish(js, namespace, event)
        await wait_consumed(js, namespace.stream_name("composer"), COMPOSED_DURABLE, again.seq)

    assert failed.outcome == "unknown"
    assert "may or may not have been delivered" in failed.reason
    assert crashed_at.isoformat() in failed.reason
    assert moto_ses.sent_emails(email_id=key) == []
    assert await mailer_events(js, namespace, EmailSent) == []
    assert len(await mailer_events(js, namespace, EmailFailed)) == 1
    assert (await ledger_entry(nats_client, namespace, key))["state"] == "unknown"


@pytest.mark.parametrize(
    "event",
    [
        pytest.param(composed(needs_review=True, review_reasons=["fair-housing"]), id="review"),
        pytest.param(composed(delivery=delivery(send_mode="approval")), id="approval-mode"),
    ],
)
async def test_drafts_waiting_for_the_agent_are_not_sent(
    nats_url: str, namespace: Namespace, nats_client: NatsClient, moto_ses: MotoSes, event
) -> None:
    js = nats_client.jetstream()
    async with run_mailer(ses_settings(nats_url, namespace, moto_ses)):
        ack = await publish(js, namespace, event)
        await wait_consumed(js, namespace.stream_name("composer"), COMPOSED_DURABLE, ack.seq)

    assert moto_ses.sent_emails(email_id=str(event.email_id)) == []
    assert await stream_messages(js, namespace.stream_name("mailer")) == []
    with pytest.raises(KeyNotFoundError):
        await ledger_entry(nats_client, namespace, str(event.email_id))


async def test_ses_rejection_is_reported_failed(
    nats_url: str, namespace: Namespace, nats_client: NatsClient, moto_ses: MotoSes
) -> None:
    js = nats_client.jetstream()
    event = composed()
    settings = ses_settings(
        nats_url, namespace, moto_ses, ses_from_address="unverified@mail.example.com"
    )
    async with run_mailer(settings):
        await publish(js, namespace, event)
        failed = await wait_event(js, namespace, EmailFailed, event.email_id)

    assert failed.outcome == "failed"
    assert "MessageRejected" in failed.reason
    assert moto_ses.sent_emails(email_id=str(event.email_id)) == []
    assert (await ledger_entry(nats_client, namespace, str(event.email_id)))["state"] == "failed"


async def send_failing_first(
    nats_url: str,
    namespace: Namespace,
    js: JetStreamContext,
    tmp_path: Path,
    error: Exception,
    outcome: type[R],
) -> tuple[EmailComposed, FailsFirst, R]:
    """Run the mailer on an outbox folder whose first send raises error; wait for outcome."""
    event = composed()
    flaky: list[FailsFirst] = []

    def wrap(transport: Transport) -> Transport:
        flaky.append(FailsFirst(transport, error))
        return flaky[0]

    settings = settings_for(nats_url, namespace, mail_outbox_dir=tmp_path)
    async with run_mailer(settings, retry=FAST_RETRY, wrap_transport=wrap):
        await publish(js, namespace, event)
        result = await wait_event(js, namespace, outcome, event.email_id)
    return event, flaky[0], result


async def test_send_surely_not_attempted_is_released_and_retried(
    nats_url: str, namespace: Namespace, nats_client: NatsClient, tmp_path: Path
) -> None:
    js = nats_client.jetstream()
    event, flaky, sent = await send_failing_first(
        nats_url, namespace, js, tmp_path, SendNotAttempted("throttled"), EmailSent
    )

    assert flaky.calls == 2
    assert sent.provider_message_id == f"file:{event.email_id}"
    assert names_in(tmp_path) == [f"{event.email_id}.eml"]
    assert await mailer_events(js, namespace, EmailFailed) == []


@pytest.mark.parametrize("lost", ["claim-reply", "release"])
async def test_a_claim_this_mailer_never_sent_is_taken_over_not_reported_unknown(
    nats_url: str, namespace: Namespace, nats_client: NatsClient, tmp_path: Path, lost: str
) -> None:
    # A NATS restart can swallow the reply to the claim (which still lands) or the release
    # after a send surely not attempted: the claim is this process's own, and it knows it
    # never called the transport, so the redelivery sends instead of reporting unknown.
    js = nats_client.jetstream()
    event = composed()
    flaky: list[FailsFirst] = []

    def wrap(transport: Transport) -> Transport:
        error = SendNotAttempted("throttled") if lost == "release" else None
        flaky.append(FailsFirst(transport, error))
        return flaky[0]

    settings = settings_for(nats_url, namespace, mail_outbox_dir=tmp_path)
    async with run_mailer(settings, retry=FAST_RETRY, wrap_transport=wrap) as mailer:
        ledger = mailer.sender._ledger
        real = ledger.claim if lost == "claim-reply" else ledger.release
        failures = [NatsTimeoutError()]

        async def loses_its_reply(*args: Any) -> Any:
            result = await real(*args)
            if failures:
                raise failures.pop()
            return result

        setattr(ledger, "claim" if lost == "claim-reply" else "release", loses_its_reply)
        await publish(js, namespace, event)
        sent = await wait_event(js, namespace, EmailSent, event.email_id)

    assert failures == []
    assert flaky[0].calls == (2 if lost == "release" else 1)
    assert sent.provider_message_id == f"file:{event.email_id}"
    assert names_in(tmp_path) == [f"{event.email_id}.eml"]
    assert await mailer_events(js, namespace, EmailFailed) == []
    assert (await ledger_entry(nats_client, namespace, str(event.email_id)))["state"] == "sent"


async def test_ambiguous_send_error_is_reported_unknown_not_resent(
    nats_url: str, namespace: Namespace, nats_client: NatsClient, tmp_path: Path
) -> None:
    js = nats_client.jetstream()
    _, flaky, failed = await send_failing_first(
        nats_url, namespace, js, tmp_path, TimeoutError("read timed out after sending"), EmailFailed
    )

    assert failed.outcome == "unknown"
    assert flaky.calls == 1
    assert names_in(tmp_path) == []
    assert await mailer_events(js, namespace, EmailSent) == []


async def test_ses_unreachable_is_an_outage_retried_without_a_claim_or_dead_letter(
    nats_url: str, namespace: Namespace, nats_client: NatsClient
) -> None:
    from realtoros_devstack.embedded import free_port

    js = nats_client.jetstream()
    event = composed()
    subject = namespace.subject(event)
    settings = settings_for(
        nats_url,
        namespace,
        mail_transport="ses",
        ses_from_address=SES_FROM,
        ses_endpoint_url=f"http://127.0.0.1:{free_port()}",  # nothing listens there
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    async with run_mailer(settings, retry=FAST_RETRY) as mailer:
        # This mailer's own metrics: only its retries count.
        async def retried() -> bool:
            name = "messages_retried_transient_total"
            now = mailer.bus.metrics.value(name, service="mailer", subject=subject)
            return (now or 0) > FAST_RETRY.max_deliveries

        await publish(js, namespace, event)
        # Tried more often than the retry budget allows for errors: an outage is not counted.
        await eventually(retried, what="retries beyond the budget")

    assert await stream_messages(js, namespace.stream_name("deadletter")) == []
    # Nothing was sent, so nothing is reported and no claim is left to block the next try.
    assert await stream_messages(js, namespace.stream_name("mailer")) == []
    with pytest.raises(KeyNotFoundError):
        await ledger_entry(nats_client, namespace, str(event.email_id))
