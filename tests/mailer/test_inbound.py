"""Replies reach the mailer through its local SMTP server or SES receiving (signed SNS),
and each becomes one ClientReplied (or AutoReplyReceived) about the email it answers;
a person's reply is forwarded to the agent with Reply-To the client."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import httpx
from nats.aio.client import Client as NatsClient

from realtoros_contracts import ClientReplied, EmailSent, Namespace, encode, envelope_headers
from realtoros_mailer.app import Mailer
from realtoros_mailer.inbound.tokens import reply_address
from realtoros_mailer.inbound.wiring import FORWARD_DURABLE
from tests.mailer.helpers import (
    FailsFirst,
    composed,
    delivery,
    publish,
    publish_raw,
)
from tests.mailer.helpers import (
    post_notification as post,
)
from tests.mailer.inbound_support import (
    AGENT,
    CLIENT,
    DOMAIN,
    SECRET,
    auto_replies,
    received,
    replies,
    reply_mime,
    smtp_send,
    wait_outbox,
)
from tests.mailer.reply_corpus import OUT_OF_OFFICE
from tests.mailer.sns_fake import FakeSns
from tests.support.moto_ses import ACCESS_KEY, REGION, SECRET_KEY, MotoSes
from tests.support.streams import wait_consumed
from tests.support.waiting import eventually


async def sent_email(nats_client: NatsClient, namespace: Namespace, tmp_path: Path) -> str:
    """Send one email with reply detection on; its Reply-To (the reply address)."""
    event = composed(delivery=delivery(detect_replies=True))
    await publish(nats_client.jetstream(), namespace, event)
    msg = await wait_outbox(
        tmp_path, lambda m: str(event.email_id) in str(m["Message-ID"]), "the sent email"
    )
    return str(msg["Reply-To"].addresses[0].addr_spec)


async def test_each_email_gets_its_own_signed_reply_address(
    mailer: Mailer, nats_client: NatsClient, namespace: Namespace, tmp_path: Path
) -> None:
    address = await sent_email(nats_client, namespace, tmp_path)
    local, _, domain = address.partition("@")
    assert domain == DOMAIN
    assert local.startswith("reply+")
    assert len(local) <= 64
    plain = composed(delivery=delivery(detect_replies=False))
    await publish(nats_client.jetstream(), namespace, plain)
    msg = await wait_outbox(tmp_path, lambda m: str(plain.email_id) in str(m["Message-ID"]), "")
    assert msg["Reply-To"].addresses[0].addr_spec == AGENT  # the agent chose direct replies


async def test_a_reply_over_smtp_is_published_and_forwarded_to_the_agent(
    mailer: Mailer, nats_client: NatsClient, namespace: Namespace, tmp_path: Path, smtp_port: int
) -> None:
    js = nats_client.jetstream()
    address = await sent_email(nats_client, namespace, tmp_path)
    await smtp_send(smtp_port, address, reply_mime(address, "Thursday at 4 works for me."))
    [reply] = await eventually(lambda: replies(js, namespace), what="ClientReplied")
    assert (reply.matched_by, reply.text) == ("reply-address", "Thursday at 4 works for me.")
    assert reply.email_id is not None
    assert reply.from_email == CLIENT
    forward = await wait_outbox(tmp_path, lambda m: m["To"].addresses[0].addr_spec == AGENT, "fwd")
    assert forward["Reply-To"].addresses[0].addr_spec == CLIENT
    assert "Thursday at 4 works for me." in forward.get_content()


async def test_in_reply_to_then_the_sender_match_when_there_is_no_reply_address(
    mailer: Mailer, nats_client: NatsClient, namespace: Namespace, tmp_path: Path, smtp_port: int
) -> None:
    js = nats_client.jetstream()
    event = composed(delivery=delivery(detect_replies=True))
    await publish(js, namespace, event)
    [sent] = await eventually(lambda: _sent(js, namespace, event.email_id), what="EmailSent")
    bare = f"replies@{DOMAIN}"
    threaded = reply_mime(bare, "Yes.", In_Reply_To=f"<{event.email_id}@mail.example.com>")
    await smtp_send(smtp_port, bare, threaded)
    await smtp_send(smtp_port, bare, reply_mime(bare, "Who is this?"))
    found = await eventually(lambda: _at_least(replies(js, namespace), 2), what="two replies")
    by_text = {r.text: r for r in found}
    assert (by_text["Yes."].matched_by, by_text["Yes."].email_id) == ("in-reply-to", sent.email_id)
    assert (by_text["Who is this?"].matched_by, by_text["Who is this?"].email_id) == (
        "sender",
        None,
    )


async def test_a_forged_reply_token_is_dropped(
    mailer: Mailer, nats_client: NatsClient, namespace: Namespace, smtp_port: int
) -> None:
    js = nats_client.jetstream()
    forged = reply_address(uuid.uuid4(), b"not-the-secret-" * 3, DOMAIN)
    await smtp_send(smtp_port, forged, reply_mime(forged, "I am someone else."))
    genuine = reply_address(uuid.uuid4(), SECRET.encode(), DOMAIN)
    await smtp_send(smtp_port, genuine, reply_mime(genuine, "Genuine."))
    await eventually(lambda: replies(js, namespace), what="the genuine reply")
    assert [r.text for r in await replies(js, namespace)] == ["Genuine."]


async def test_a_signed_ses_receipt_carries_the_reply_and_the_sender_checks(
    mailer: Mailer,
    http: httpx.AsyncClient,
    sns: FakeSns,
    nats_client: NatsClient,
    namespace: Namespace,
) -> None:
    js = nats_client.jetstream()
    address = reply_address(uuid.uuid4(), SECRET.encode(), DOMAIN)
    note = sns.notification(received(reply_mime(address, "See you Saturday."), [address]))
    assert (await post(http, note)).text == "replied\n"
    assert (await post(http, note)).text == "duplicate\n"  # SNS retried: recorded once
    [reply] = await replies(js, namespace)
    assert reply.text == "See you Saturday."
    assert (reply.verdicts.spf, reply.verdicts.dkim, reply.verdicts.dmarc) == (
        "PASS",
        "PASS",
        "FAIL",
    )
    tampered = {**note, "Message": note["Message"].replace("FAIL", "PASS")}
    assert (await post(http, tampered)).status_code == 403


async def test_large_mail_is_read_from_the_s3_action(
    mailer: Mailer,
    http: httpx.AsyncClient,
    sns: FakeSns,
    nats_client: NatsClient,
    namespace: Namespace,
    moto_ses: MotoSes,
) -> None:
    address = reply_address(uuid.uuid4(), SECRET.encode(), DOMAIN)
    raw = reply_mime(address, "Stored in S3.")
    s3 = boto3.client(
        "s3",
        endpoint_url=moto_ses.endpoint_url,
        region_name=REGION,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
    )
    bucket = f"inbound-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="mail/1", Body=raw)
    action = {"type": "S3", "bucketName": bucket, "objectKey": "mail/1"}
    note = sns.notification(received(raw, [address], **action))
    assert (await post(http, note)).text == "replied\n"
    [reply] = await replies(nats_client.jetstream(), namespace)
    assert reply.text == "Stored in S3."


async def test_an_out_of_office_is_an_auto_reply_and_is_not_forwarded(
    mailer: Mailer, nats_client: NatsClient, namespace: Namespace, smtp_port: int, tmp_path: Path
) -> None:
    js = nats_client.jetstream()
    address = reply_address(uuid.uuid4(), SECRET.encode(), DOMAIN)
    await smtp_send(
        smtp_port,
        address,
        OUT_OF_OFFICE.replace(b"reply+TOKEN@" + DOMAIN.encode(), address.encode()),
    )
    [auto] = await eventually(lambda: auto_replies(js, namespace), what="AutoReplyReceived")
    assert auto.reason.startswith("Auto-Submitted")
    assert await replies(js, namespace) == []


async def _sent(js: Any, ns: Namespace, email_id: uuid.UUID) -> list[EmailSent]:
    from tests.mailer.helpers import mailer_events

    return [e for e in await mailer_events(js, ns, EmailSent) if e.email_id == email_id]


async def _at_least(found: Any, count: int) -> Any:
    items = await found
    return items if len(items) >= count else None


async def test_a_redelivered_reply_is_forwarded_once(
    mailer: Mailer, nats_client: NatsClient, namespace: Namespace, transport: list[FailsFirst]
) -> None:
    js = nats_client.jetstream()
    event = composed(delivery=delivery(detect_replies=True))
    await publish(js, namespace, event)
    await eventually(lambda: _sent(js, namespace, event.email_id), what="EmailSent")
    reply = ClientReplied(
        email_id=event.email_id,
        matched_by="reply-address",
        from_email=CLIENT,
        text="Twice delivered.",
        received_at=datetime.now(UTC),
    )
    event_id = f"reply:{uuid.uuid4().hex}"
    seq = 0
    for copy in ("first", "again"):  # the same event under two Nats-Msg-Ids
        headers = envelope_headers(reply, event_id=event_id, source="realtoros/mailer")
        headers["Nats-Msg-Id"] = f"{event_id}:{copy}"
        ack = await publish_raw(
            js, namespace.subject(reply), namespace.stream_name("mailer"), encode(reply), headers
        )
        seq = ack.seq
    await wait_consumed(js, namespace.stream_name("mailer"), FORWARD_DURABLE, seq)
    assert transport[0].calls == 2  # the email, then one forward (the copy found the ledger)
