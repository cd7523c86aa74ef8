"""The moto SES helper itself: what it reports is what went through its own server."""

from __future__ import annotations

import uuid

from tests.mailer.helpers import SES_FROM
from tests.support.moto_ses import MotoSes


def _send(ses: MotoSes, email_id: str) -> str:
    raw = (
        f"From: {SES_FROM}\r\nTo: t@example.com\r\nX-RealtorOS-Email-Id: {email_id}\r\n"
        "Subject: s\r\n\r\nbody\r\n"
    ).encode()
    response = ses.client().send_email(
        FromEmailAddress=SES_FROM,
        Destination={"ToAddresses": ["t@example.com"]},
        ReplyToAddresses=["agent@example.com"],
        Content={"Raw": {"Data": raw}},
        EmailTags=[{"Name": "email_id", "Value": email_id}],
    )
    return str(response["MessageId"])


def test_each_server_lists_only_its_own_sends(moto_ses: MotoSes) -> None:
    mine, other = str(uuid.uuid4()), str(uuid.uuid4())
    with MotoSes() as second:
        message_id = _send(moto_ses, mine)
        _send(second, other)
        assert [e.email_id for e in second.sent_emails()] == [other]

    [sent] = moto_ses.sent_emails(email_id=mine)
    assert sent.message_id == message_id
    assert sent.tags == {"email_id": mine}
    assert sent.reply_to == ["agent@example.com"]
    assert sent.text() == "body\n"
    assert moto_ses.sent_emails(email_id=other) == []
