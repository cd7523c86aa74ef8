"""The mailer writes MIME itself (``realtoros_mailer.mime``): what a mail client reads back
from it is what it reads from the email package's own ``EmailMessage`` of the same email
(the reference below), the parts are byte-for-byte the package's, and the bytes are 7-bit
with CRLF line ends and folded lines."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from email import message_from_bytes
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import default
from typing import Any

import pytest

from realtoros_contracts.rendering import html_body, text_body
from realtoros_mailer.message import POLICY, Sendable, build_message
from tests.mailer.helpers import approved, composed, delivery

FROM = "notifications@mail.example.com"
NOW = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)
HEADERS = (
    "From",
    "To",
    "Reply-To",
    "Subject",
    "Date",
    "Message-ID",
    "X-RealtorOS-Email-Id",
    "List-Unsubscribe",
    "List-Unsubscribe-Post",
)


def reference(event: Sendable, to_address: str, reply_to: str) -> bytes:
    """The message as the email package builds it (what the mailer did before)."""
    d = event.delivery
    msg = EmailMessage(policy=POLICY)
    msg["From"] = Address(display_name=d.from_name, addr_spec=FROM)
    msg["To"] = Address(display_name=d.to_name, addr_spec=to_address)
    msg["Reply-To"] = Address(display_name=d.from_name, addr_spec=reply_to)
    msg["Subject"] = event.subject
    msg["Date"] = "Wed, 04 Mar 2026 05:06:07 +0000"
    msg["Message-ID"] = f"<{event.email_id}@mail.example.com>"
    msg["X-RealtorOS-Email-Id"] = str(event.email_id)
    if d.unsubscribe_url:
        msg["List-Unsubscribe"] = f"<{d.unsubscribe_url}>"
        msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    msg.set_content(text_body(event.body_text, d), cte="quoted-printable")
    msg.add_alternative(
        html_body(event.subject, event.body_text, d), subtype="html", cte="quoted-printable"
    )
    return msg.as_bytes()


def parsed(raw: bytes) -> EmailMessage:
    return message_from_bytes(raw, policy=default)


def parts(raw: bytes) -> list[bytes]:
    """The raw bytes of each part (headers and body), between the boundaries."""
    boundary = parsed(raw).get_boundary()
    assert boundary is not None
    body = raw.split(b"\r\n\r\n", 1)[1]
    chunks = body.split(f"--{boundary}".encode())[1:-1]
    # The email package adds a stray MIME-Version header to an added alternative.
    return [c.replace(b"MIME-Version: 1.0\r\n", b"") for c in chunks]


CASES: dict[str, dict[str, Any]] = {
    "plain ascii": {},
    "non-ascii names and subject": {
        "subject": "Ünïcödé: the house on Łąkowa street, still available?",
        "delivery": {"from_name": "Zoë Ruiz via Härbor Realty", "to_name": "Jürgen Groß"},
    },
    "specials in names": {
        "delivery": {"from_name": 'Sam "The Closer" Agent, Acme', "to_name": "O'Brien, Pat (Jr.)"},
    },
    "long ascii subject": {"subject": "Following up on " + "the lovely three-bedroom " * 6},
    "idn recipient": {"delivery": {"to_email": "zoe@bücher.example", "to_name": "Zoë"}},
    "no unsubscribe, long body lines, non-ascii body": {
        "body_text": "Grüße! " + "x" * 200 + "\n\n= a line that starts with equals\n. dot",
        "delivery": {"unsubscribe_url": "", "signature": "Sam — Acme", "postal_address": ""},
    },
}


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
@pytest.mark.parametrize("build", [composed, approved], ids=["composed", "approved"])
def test_a_mail_client_reads_what_the_email_package_would_have_written(
    case: str, build: Any
) -> None:
    overrides = dict(CASES[case])
    if "delivery" in overrides:
        overrides["delivery"] = delivery(**overrides["delivery"])
    event = build(**overrides)
    out = build_message(event, FROM, now=NOW)
    expected = reference(event, out.to_address, out.reply_to)
    ours, theirs = parsed(out.raw), parsed(expected)

    for name in HEADERS:
        assert ours[name] == theirs[name], name
    for name in ("From", "To", "Reply-To"):
        mine, ref = ours[name].addresses[0], theirs[name].addresses[0]
        assert (mine.display_name, mine.addr_spec) == (ref.display_name, ref.addr_spec)
    assert ours.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in ours.iter_parts()] == ["text/plain", "text/html"]
    for mine_part, ref_part in zip(ours.iter_parts(), theirs.iter_parts(), strict=True):
        assert mine_part.get_content() == ref_part.get_content()
        assert mine_part["Content-Transfer-Encoding"] == "quoted-printable"
    assert parts(out.raw) == parts(expected), "the parts, byte for byte"
    assert not ours.defects
    assert all(not p.defects for p in ours.iter_parts())


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_the_bytes_are_7_bit_with_crlf_and_folded_lines(case: str) -> None:
    overrides = dict(CASES[case])
    if "delivery" in overrides:
        overrides["delivery"] = delivery(**overrides["delivery"])
    raw = build_message(composed(**overrides), FROM, now=NOW).raw
    raw.decode("ascii")
    assert b"\n" not in raw.replace(b"\r\n", b"")
    assert b"\r" not in raw.replace(b"\r\n", b"")
    for line in raw.split(b"\r\n"):
        if not line.startswith(b"List-Unsubscribe:"):  # verbatim, by design
            assert len(line) <= 78, line
    header_block = raw.split(b"\r\n\r\n", 1)[0].decode()
    assert re.search(r"^Content-Type: multipart/alternative;\r\n boundary=", header_block, re.M)
