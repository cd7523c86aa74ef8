"""SES event notifications through SNS: only genuinely signed messages count; each becomes
the contract event of its email (found by the message tags), once."""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from nats.aio.client import Client as NatsClient

from realtoros_contracts import (
    EmailBounced,
    EmailClicked,
    EmailComplained,
    EmailDelivered,
    EmailDeliveryDelayed,
    EmailOpened,
    EmailRejected,
    Namespace,
)
from realtoros_mailer.app import Mailer
from tests.mailer.helpers import mailer_events, run_mailer, settings_for
from tests.mailer.helpers import (
    post_notification as post,
)
from tests.mailer.sns_fake import FakeSns, ses_event
from tests.support.streams import stream_messages
from tests.support.waiting import eventually

PATH = "/ses/notifications"


@pytest.fixture
async def mailer(
    nats_url: str, namespace: Namespace, nats_client: NatsClient, sns: FakeSns, tmp_path: Any
) -> AsyncIterator[Mailer]:
    settings = settings_for(
        nats_url, namespace, mail_outbox_dir=tmp_path, sns_cert_url_pattern=sns.url_pattern
    )
    async with run_mailer(settings) as running:
        yield running


def ids() -> dict[str, str]:
    return {k: str(uuid.uuid4()) for k in ("email_id", "task_id", "agent_id", "client_id")}


CASES: list[tuple[str, dict[str, Any], type[Any], dict[str, Any]]] = [
    ("Delivery", {"recipients": ["jane.buyer@example.com"]}, EmailDelivered, {}),
    (
        "Bounce",
        {
            "bounceType": "Transient",
            "bounceSubType": "MailboxFull",
            "bouncedRecipients": [{"emailAddress": "jane.buyer@example.com"}],
        },
        EmailBounced,
        {"bounce_type": "transient", "bounce_subtype": "MailboxFull"},
    ),
    (
        "Bounce",
        {"bounceType": "Undetermined", "bouncedRecipients": []},
        EmailBounced,
        {"bounce_type": "undetermined"},
    ),
    ("Open", {"userAgent": "Mozilla/5.0"}, EmailOpened, {"user_agent": "Mozilla/5.0"}),
    (
        "Click",
        {"link": "https://listing.example.com/12-oak", "userAgent": "UA"},
        EmailClicked,
        {"link": "https://listing.example.com/12-oak"},
    ),
    ("Reject", {"reason": "Bad content"}, EmailRejected, {"reason": "Bad content"}),
    (
        "DeliveryDelay",
        {"delayType": "MailboxFull"},
        EmailDeliveryDelayed,
        {"delay_type": "MailboxFull"},
    ),
]


@pytest.mark.parametrize("version", ["1", "2"])
async def test_signed_notifications_become_events_of_their_email(
    mailer: Mailer,
    http: httpx.AsyncClient,
    sns: FakeSns,
    nats_client: NatsClient,
    namespace: Namespace,
    version: str,
) -> None:
    js = nats_client.jetstream()
    for event_type, section, event_cls, fields in CASES:
        email = ids()
        message_id = f"ses-{uuid.uuid4()}"
        note = sns.notification(ses_event(event_type, email, section, message_id), version)
        response = await post(http, note)
        assert (response.status_code, response.text) == (200, "published\n"), event_type
        [event] = [
            e
            for e in await mailer_events(js, namespace, event_cls)
            if str(e.email_id) == email["email_id"]
        ]
        assert event.provider_message_id == message_id
        assert {k: str(getattr(event, k)) for k in email} == email
        for name, value in fields.items():
            assert getattr(event, name) == value
    assert sns.cert_fetches <= 2  # cached: once per signing key URL (this module's fake)


async def test_hard_bounce_and_complaint_suppress_and_duplicates_are_dropped(
    mailer: Mailer,
    http: httpx.AsyncClient,
    sns: FakeSns,
    nats_client: NatsClient,
    namespace: Namespace,
) -> None:
    js = nats_client.jetstream()
    bounce = sns.notification(
        ses_event(
            "Bounce",
            ids(),
            {
                "bounceType": "Permanent",
                "bounceSubType": "General",
                "bouncedRecipients": [
                    {"emailAddress": "Gone@Example.com", "diagnosticCode": "550 5.1.1 no such user"}
                ],
            },
        )
    )
    complaint = sns.notification(
        ses_event(
            "Complaint",
            ids(),
            {
                "complainedRecipients": [{"emailAddress": "angry@example.com"}],
                "complaintFeedbackType": "abuse",
            },
        )
    )
    for _ in range(2):  # SNS redelivers: the second copy is acknowledged and dropped
        assert (await post(http, bounce)).status_code == 200
        assert (await post(http, complaint)).status_code == 200
    [bounced] = await mailer_events(js, namespace, EmailBounced)
    [complained] = await mailer_events(js, namespace, EmailComplained)
    assert bounced.bounce_type == "permanent"
    assert "no such user" in bounced.diagnostic
    assert complained.complaint_type == "abuse"
    assert (await mailer.suppression.check("gone@example.com")) is not None
    assert (await mailer.suppression.check("angry@example.com")) is not None
    assert (await mailer.suppression.check("jane.buyer@example.com")) is None
    metrics = (await http.get("/metrics")).text
    assert 'realtoros_mailer_ses_notifications_total{result="duplicate"} 2.0' in metrics


def _tampered(note: dict[str, Any]) -> dict[str, Any]:
    forged = copy.deepcopy(note)
    inner = json.loads(forged["Message"])
    inner["bounce"]["bounceType"] = "Permanent"
    forged["Message"] = json.dumps(inner)
    return forged


FORGERIES: dict[str, Any] = {
    "tampered body": _tampered,
    "wrong signature": lambda n: n | {"Signature": n["Signature"][:-8] + "AAAAAAA="},
    "cert off pattern": lambda n: n | {"SigningCertURL": "https://sns.evil.example.com/c.pem"},
    "genuine-looking host": lambda n: (
        n | {"SigningCertURL": "https://sns.us-east-1.amazonaws.com.evil.example/c.pem"}
    ),
    "missing signature": lambda n: {k: v for k, v in n.items() if k != "Signature"},
    "unknown version": lambda n: n | {"SignatureVersion": "3"},
    "missing message id": lambda n: {k: v for k, v in n.items() if k != "MessageId"},
    "not json": lambda n: b"{nope",
    "not an object": lambda n: b"[]",
}


@pytest.mark.parametrize("forge", list(FORGERIES), ids=list(FORGERIES))
async def test_forged_or_unsigned_notifications_are_refused_and_change_nothing(
    mailer: Mailer,
    http: httpx.AsyncClient,
    sns: FakeSns,
    nats_client: NatsClient,
    namespace: Namespace,
    forge: str,
) -> None:
    section = {
        "bounceType": "Transient",
        "bouncedRecipients": [{"emailAddress": "victim@example.com"}],
    }
    genuine = sns.notification(ses_event("Bounce", ids(), section))
    response = await post(http, FORGERIES[forge](genuine))
    assert 400 <= response.status_code < 500, response.text
    js = nats_client.jetstream()
    assert await stream_messages(js, namespace.stream_name("mailer")) == []
    assert await mailer.suppression.check("victim@example.com") is None
    # The genuine one still goes through: nothing was marked as seen by the forgery.
    assert (await post(http, genuine)).status_code == 200


async def test_subscription_is_confirmed_only_on_the_sns_host(
    mailer: Mailer, http: httpx.AsyncClient, sns: FakeSns
) -> None:
    before = len(sns.confirmations)
    off_host = sns.subscription("https://attacker.example.com/confirm?Token=x")
    assert (await post(http, off_host)).status_code == 403
    assert len(sns.confirmations) == before
    genuine = sns.subscription()
    response = await post(http, genuine)
    assert (response.status_code, response.text) == (200, "confirmed\n")
    await eventually(
        lambda: _async(len(sns.confirmations) == before + 1), what="the confirmation GET"
    )
    assert sns.confirmations[-1].endswith(genuine["Token"])


@pytest.mark.parametrize(
    "body",
    [
        b"[" * 100_000 + b"]" * 100_000,
        b'{"a":' * 50_000 + b"1" + b"}" * 50_000,
        b"\xff\xfe not utf-8",
        b'{"Type": {"nested": [1, 2]}, "MessageId": ["x"], "Signature": 1}',
        b'{"Type": "Notification", "SignatureVersion": [1], "SigningCertURL": {}}',
        b"NaN",
        b"",
    ],
    ids=["deep-array", "deep-object", "not-utf8", "wrong-types", "wrong-types-2", "nan", "empty"],
)
async def test_anything_unparseable_is_a_400_never_a_5xx(
    http: httpx.AsyncClient, body: bytes
) -> None:
    response = await post(http, body)
    assert 400 <= response.status_code < 500, (response.status_code, response.text)


async def test_only_post_is_allowed(http: httpx.AsyncClient) -> None:
    assert (await http.get(PATH)).status_code == 405


async def _async(value: bool) -> bool:
    return value


def test_identity_notifications_and_foreign_emails() -> None:
    from realtoros_mailer.ses_events import UnusableNotification, interpret

    email = ids()
    record = ses_event("Bounce", email, {"bounceType": "Permanent", "bouncedRecipients": []})
    record["notificationType"] = record.pop("eventType")  # identity notifications
    assert isinstance(interpret(record).event, EmailBounced)
    foreign = ses_event(
        "Complaint", {}, {"complainedRecipients": [{"emailAddress": "x@example.com"}]}
    )
    outcome = interpret(foreign)  # not one of ours: no event, but still suppressed
    assert outcome.event is None
    assert outcome.suppress == [("x@example.com", "complaint")]
    with pytest.raises(UnusableNotification):
        interpret({"eventType": "Bounce"})
