"""What the inbound side does beyond publishing the reply: emails held because the client
replied are not sent (unless approved again knowingly), a delivery status report is a
bounce, the forward to the agent takes the normal send path and carries the whole
conversation, and the inbound metrics and readiness."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from nats.aio.client import Client as NatsClient

from realtoros_contracts import EmailBounced, EmailHeld, EmailSent, Namespace
from realtoros_mailer.app import Mailer
from realtoros_mailer.handlers import APPROVED_DURABLE, COMPOSED_DURABLE
from realtoros_mailer.inbound.forward import HISTORY_MARK
from realtoros_mailer.inbound.tokens import reply_address
from tests.mailer.helpers import (
    approved,
    composed,
    delivery,
    mailer_events,
    names_in,
    publish,
    wait_event,
)
from tests.mailer.helpers import post_notification as post
from tests.mailer.inbound_support import (
    AGENT,
    CLIENT,
    DOMAIN,
    SECRET,
    read_eml,
    received,
    reply_mime,
    smtp_send,
    wait_outbox,
)
from tests.mailer.sns_fake import FakeSns
from tests.mailer.test_inbound import sent_email
from tests.support.streams import wait_consumed
from tests.support.waiting import eventually


def held(event_ids: dict[str, Any]) -> EmailHeld:
    return EmailHeld(**event_ids, held_at=datetime.now(UTC))


def ids_of(event: object) -> dict[str, Any]:
    return {name: getattr(event, name) for name in ("email_id", "task_id", "agent_id", "client_id")}


async def wait_held(mailer: Mailer, email_id: uuid.UUID) -> None:
    holds = mailer.sender.holds
    assert holds is not None

    async def probe() -> datetime | None:
        return await holds.held_since(email_id)

    await eventually(probe, what=f"the hold of {email_id}")


def metric(text: str, line: str) -> bool:
    return any(row.startswith(line) for row in text.splitlines())


async def test_a_held_email_is_sent_only_when_approved_again_knowingly(
    mailer: Mailer, nats_client: NatsClient, namespace: Namespace, tmp_path: Path
) -> None:
    js = nats_client.jetstream()
    draft = composed()
    await publish(js, namespace, held(ids_of(draft)))
    await wait_held(mailer, draft.email_id)
    # the automatic draft composed after the reply, then an approval given before it
    ack = await publish(js, namespace, draft)
    await wait_consumed(js, namespace.stream_name("composer"), COMPOSED_DURABLE, ack.seq)
    before_reply = approved(**ids_of(draft))
    ack = await publish(js, namespace, before_reply)
    await wait_consumed(js, namespace.stream_name("crm"), APPROVED_DURABLE, ack.seq)
    assert names_in(tmp_path) == []
    assert await mailer_events(js, namespace, EmailSent) == []
    # the agent read the reply and sends it anyway: once, however often it is asked
    anyway = approved(**ids_of(draft), override_hold=True)
    await publish(js, namespace, anyway)
    sent = await wait_event(js, namespace, EmailSent, draft.email_id)
    ack = await publish(js, namespace, anyway)
    await wait_consumed(js, namespace.stream_name("crm"), APPROVED_DURABLE, ack.seq)
    assert names_in(tmp_path) == [f"{draft.email_id}.eml"]
    assert [e.email_id for e in await mailer_events(js, namespace, EmailSent)] == [sent.email_id]
    assert metric(mailer.metrics.render().decode(), "realtoros_mailer_inbound_sends_held_total 2.0")


async def test_an_email_waiting_out_a_pause_is_held_when_the_reply_comes_meanwhile(
    mailer: Mailer, nats_client: NatsClient, namespace: Namespace, tmp_path: Path
) -> None:
    js = nats_client.jetstream()
    mailer.sender.pacing.pause.pause("daily quota (test)", 1.0)
    draft = composed()
    ack = await publish(js, namespace, draft)  # composed before the reply: it waits

    async def waiting() -> bool:
        info = await js.consumer_info(namespace.stream_name("composer"), COMPOSED_DURABLE)
        return bool(info.delivered.stream_seq >= ack.seq and info.num_ack_pending >= 1)

    await eventually(waiting, what="the draft to wait for the pause")
    await publish(js, namespace, held(ids_of(draft)))
    await wait_held(mailer, draft.email_id)

    async def held_once() -> bool:
        text = mailer.metrics.render().decode()
        return metric(text, "realtoros_mailer_inbound_sends_held_total 1.0")

    await eventually(held_once, what="the waiting email to be held")
    assert names_in(tmp_path) == []
    assert await mailer_events(js, namespace, EmailSent) == []


def dsn(message_id: str, recipient: str, status: str = "5.1.1") -> bytes:
    return (
        "From: Mail Delivery Subsystem <mailer-daemon@mx.example.com>\r\n"
        f"To: bounces@{DOMAIN}\r\nSubject: Undelivered Mail Returned to Sender\r\n"
        f"Message-ID: <{uuid.uuid4().hex}@mx.example.com>\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="b1"\r\n\r\n'
        "--b1\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n"
        "--b1\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.example.com\r\n\r\n"
        f"Final-Recipient: rfc822; {recipient}\r\nAction: failed\r\nStatus: {status}\r\n"
        "Diagnostic-Code: smtp; 550 5.1.1 user unknown\r\n\r\n"
        "--b1\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        f"From: Sam Agent <notifications@example.com>\r\nTo: {recipient}\r\n"
        f"Message-ID: {message_id}\r\nSubject: Checking in\r\n\r\n--b1--\r\n"
    ).encode()


async def test_a_delivery_status_report_is_the_bounce_of_the_email_it_quotes(
    mailer: Mailer, nats_client: NatsClient, namespace: Namespace, tmp_path: Path, smtp_port: int
) -> None:
    js = nats_client.jetstream()
    event = composed(delivery=delivery(detect_replies=True))
    await publish(js, namespace, event)
    await wait_event(js, namespace, EmailSent, event.email_id)
    sent = read_eml(tmp_path / f"{event.email_id}.eml")
    message_id = str(sent["Message-ID"])
    to = f"bounces@{DOMAIN}"
    # a forged report naming someone the email was not sent to changes nothing
    await smtp_send(smtp_port, to, dsn(message_id, "someone.else@example.com"))
    await smtp_send(smtp_port, to, dsn(message_id, CLIENT.upper()))
    bounce = await wait_event(js, namespace, EmailBounced, event.email_id)  # type: ignore[type-var]
    assert ids_of(bounce) == ids_of(event)
    assert (bounce.bounce_type, bounce.recipients) == ("permanent", [CLIENT])
    assert bounce.bounce_subtype == "DSN 5.1.1"
    assert "user unknown" in bounce.diagnostic
    assert (await mailer.suppression.check(CLIENT)) is not None
    assert (await mailer.suppression.check("someone.else@example.com")) is None
    assert len(await mailer_events(js, namespace, EmailBounced)) == 1
    text = mailer.metrics.render().decode()
    assert metric(text, 'realtoros_mailer_inbound_classified_total{kind="dsn",reason=""} 1.0')
    assert metric(
        text,
        'realtoros_mailer_inbound_classified_total{kind="rejected",reason="dsn-unmatched"} 1.0',
    )


def reply_with_attachment(to: str) -> bytes:
    return (
        f"From: Jane Buyer <{CLIENT}>\r\nTo: {to}\r\nSubject: Re: Checking in\r\n"
        f"Message-ID: <{uuid.uuid4().hex}@mail.example.com>\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/mixed; boundary="m1"\r\n\r\n'
        "--m1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
        "Signed offer attached.\r\n\r\nOn Tue, Sam Agent wrote:\r\n"
        "> Are you still thinking about Oak Lane?\r\n"
        "--m1\r\nContent-Type: application/pdf\r\n"
        'Content-Disposition: attachment; filename="offer.pdf"\r\n'
        "Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK\r\n--m1--\r\n"
    ).encode()


async def test_the_forward_carries_the_conversation_and_skips_a_suppressed_agent(
    mailer: Mailer, nats_client: NatsClient, namespace: Namespace, tmp_path: Path, smtp_port: int
) -> None:
    address = await sent_email(nats_client, namespace, tmp_path)
    await smtp_send(smtp_port, address, reply_with_attachment(address))
    forward = await wait_outbox(tmp_path, lambda m: m["To"].addresses[0].addr_spec == AGENT, "fwd")
    text = forward.get_content()
    assert text.index("Signed offer attached.") < text.index(HISTORY_MARK)
    assert text.index(HISTORY_MARK) < text.index("> Are you still thinking about Oak Lane?")
    assert "Attachments (names only; not forwarded): offer.pdf" in text
    assert "JVBERi0xLjQK" not in text
    # the agent's address bounced: no more forwards to it (a bouncing forward cannot loop)
    await mailer.suppression.add(AGENT, "bounce", "test")
    await smtp_send(smtp_port, address, reply_mime(address, "One more thing."))

    async def suppressed() -> bool:
        text = mailer.metrics.render().decode()
        return metric(text, 'realtoros_mailer_inbound_forwarded_total{result="suppressed"} 1.0')

    await eventually(suppressed, what="the forward to be skipped")
    to_agent = [read_eml(p) for p in tmp_path.glob("*.eml")]  # noqa: ASYNC240
    assert [m for m in to_agent if "One more thing." in m.as_string()] == []


async def test_inbound_metrics_and_readiness(
    mailer: Mailer, http: httpx.AsyncClient, sns: FakeSns, smtp_port: int
) -> None:
    assert (await http.get("/readyz")).status_code == 200
    address = reply_address(uuid.uuid4(), SECRET.encode(), DOMAIN)
    await smtp_send(smtp_port, address, reply_mime(address, "Please stop emailing me."))
    note = sns.notification(received(reply_mime(address, "See you Saturday."), [address]))
    assert (await post(http, note)).text == "replied\n"
    forged = reply_address(uuid.uuid4(), b"not-the-secret-" * 3, DOMAIN)
    await smtp_send(smtp_port, forged, reply_mime(forged, "Forged."))
    text = (await http.get("/metrics")).text
    for line in (
        'realtoros_mailer_inbound_received_total{door="smtp"} 2.0',
        'realtoros_mailer_inbound_received_total{door="ses"} 1.0',
        'realtoros_mailer_inbound_classified_total{kind="unsubscribe",reason=""} 1.0',
        'realtoros_mailer_inbound_classified_total{kind="reply",reason=""} 1.0',
        'realtoros_mailer_inbound_classified_total{kind="rejected",reason="forged-token"} 1.0',
        "realtoros_mailer_inbound_errors_total 0.0",
    ):
        assert metric(text, line), line
    assert mailer.inbound is not None
    await mailer.inbound.close()  # the inbound SMTP server stops listening
    response = await http.get("/readyz")
    assert response.status_code == 503
    assert "inbound smtp: not listening" in response.text
