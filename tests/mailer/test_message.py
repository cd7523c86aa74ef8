"""Building the MIME message, and telling SES failures apart."""

from __future__ import annotations

from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from typing import Any

import pytest
from botocore.exceptions import ClientError, ReadTimeoutError

from realtoros_contracts import DeliveryContext
from realtoros_mailer.handlers import sends_automatically
from realtoros_mailer.message import InvalidEmail, build_message
from realtoros_mailer.transports import SendingPaused, SendNotAttempted, SendRejected, Throttled
from realtoros_mailer.transports.ses import classify
from tests.mailer.helpers import approved, composed, delivery, part_text

FROM = "notifications@mail.example.com"


def parsed(raw: bytes) -> EmailMessage:
    return message_from_bytes(raw, policy=default)


def unchecked_delivery(**overrides: Any) -> DeliveryContext:
    """A delivery context that skipped the contract's validation (as if a producer had
    a bug), to prove the email package still refuses header injection."""
    return DeliveryContext.model_construct(**(delivery().model_dump() | overrides))


@pytest.mark.parametrize("field", ["from_name", "to_name"])
def test_line_breaks_in_names_are_refused(field: str) -> None:
    event = composed().model_copy(
        update={"delivery": unchecked_delivery(**{field: "Jane\r\nBcc: all@example.com"})}
    )
    with pytest.raises(InvalidEmail, match="header"):
        build_message(event, FROM)


def test_line_breaks_in_subject_are_refused() -> None:
    event = composed().model_copy(update={"subject": "Hello\nBcc: all@example.com"})
    with pytest.raises(InvalidEmail, match="linefeed"):
        build_message(event, FROM)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("to_email", "jane@"),
        ("to_email", "jane@localhost"),
        ("reply_to", "agent at example.com"),
        ("unsubscribe_url", "javascript:alert(1)"),
        ("unsubscribe_url", "https://crm.example.com/u/1>, <mailto:x@example.com"),
    ],
)
def test_invalid_delivery_values_are_refused(field: str, value: str) -> None:
    event = composed(delivery=delivery(**{field: value}))
    with pytest.raises(InvalidEmail):
        build_message(event, FROM)


def test_non_ascii_names_and_idn_domains_are_encoded() -> None:
    event = approved(
        subject="Ünïcödé subject",
        delivery=delivery(to_name="Zoë Åberg", to_email="zoe@bücher.example"),
    )
    out = build_message(event, FROM)
    out.raw.decode("ascii")
    msg = parsed(out.raw)
    assert out.to_address == "zoe@xn--bcher-kva.example"
    assert msg["To"].addresses[0].display_name == "Zoë Åberg"
    assert msg["Subject"] == "Ünïcödé subject"


def test_without_unsubscribe_url_there_is_no_list_unsubscribe() -> None:
    event = composed(delivery=delivery(unsubscribe_url="", signature="", postal_address=""))
    msg = parsed(build_message(event, FROM).raw)
    assert msg["List-Unsubscribe"] is None
    assert msg["List-Unsubscribe-Post"] is None
    assert part_text(msg, "plain") == event.body_text + "\n"


def _client_error(code: str, status: int) -> ClientError:
    response: Any = {"Error": {"Code": code, "Message": "m"}}
    response["ResponseMetadata"] = {"HTTPStatusCode": status}
    return ClientError(response, "SendEmail")


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (_client_error("MessageRejected", 400), SendRejected),
        (_client_error("MailFromDomainNotVerifiedException", 400), SendRejected),
        (_client_error("TooManyRequestsException", 429), Throttled),
        (_client_error("Throttling", 400), Throttled),
        (_client_error("LimitExceededException", 400), SendingPaused),
        (_client_error("AccountSuspendedException", 400), SendingPaused),
        (_client_error("SendingPausedException", 400), SendingPaused),
        (_client_error("AccessDeniedException", 403), SendNotAttempted),
        (_client_error("InternalFailure", 500), None),
        (ReadTimeoutError(endpoint_url="https://email.us-east-1.amazonaws.com"), None),
        (TimeoutError(), None),
    ],
)
def test_ses_errors_are_classified(error: Exception, expected: type | None) -> None:
    result = classify(error)
    assert (type(result) if result is not None else None) is expected


def test_long_list_unsubscribe_stays_a_plain_url_in_the_raw_bytes() -> None:
    url = "https://crm.example.com/unsubscribe/" + "a1B2c3D4e5" * 11 + "?sig=abc"
    assert len(url) >= 150
    event = composed(delivery=delivery(unsubscribe_url=url))
    raw = build_message(event, FROM).raw
    assert f"\r\nList-Unsubscribe: <{url}>\r\n".encode() in raw
    assert b"\r\nList-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n" in raw
    assert b"=?utf-8?" not in raw.split(b"\r\n\r\n")[0].split(b"List-Unsubscribe:")[1][:20]
    assert parsed(raw)["List-Unsubscribe"] == f"<{url}>"


def test_non_ascii_names_are_encoded_words_with_addresses_intact() -> None:
    event = composed(
        delivery=delivery(from_name="Zoë Ruiz via Härbor Realty", reply_to="zoe@harbor.example")
    )
    out = build_message(event, FROM)
    # Unfolded: a long encoded name is folded over several lines.
    header_block = out.raw.split(b"\r\n\r\n")[0].decode("ascii").replace("\r\n ", " ")
    from_line = next(line for line in header_block.split("\r\n") if line.startswith("From:"))
    reply_line = next(line for line in header_block.split("\r\n") if line.startswith("Reply-To:"))
    assert "=?utf-8?" in from_line
    assert f"<{FROM}>" in from_line
    assert "=?utf-8?" in reply_line
    assert "<zoe@harbor.example>" in reply_line
    msg = parsed(out.raw)
    assert msg["From"].addresses[0].display_name == "Zoë Ruiz via Härbor Realty"
    assert msg["Reply-To"].addresses[0].addr_spec == "zoe@harbor.example"


@pytest.mark.parametrize(
    "url",
    [
        "https://crm.example.com/u/ü",
        "https://crm.example.com/u/" + "x" * 950,
        "https://crm.example.com/u/1\r\nBcc: all@example.com",
    ],
)
def test_unsubscribe_urls_unsafe_for_a_verbatim_header_are_refused(url: str) -> None:
    event = composed().model_copy(update={"delivery": unchecked_delivery(unsubscribe_url=url)})
    with pytest.raises(InvalidEmail, match="unsubscribe URL"):
        build_message(event, FROM)


@pytest.mark.parametrize("char", ["\x00", "\x1b", "\x7f", "\t"])
def test_control_characters_in_subject_and_names_are_refused_by_the_contract(char: str) -> None:
    with pytest.raises(ValueError, match="control characters"):
        composed(subject=f"Hello{char}there")
    with pytest.raises(ValueError, match="control characters"):
        delivery(from_name=f"Sam{char}Agent")


def test_every_email_carries_signature_postal_address_and_unsubscribe_in_both_parts() -> None:
    event = composed()
    msg = parsed(build_message(event, FROM).raw)
    d = event.delivery
    for subtype in ("plain", "html"):
        text = part_text(msg, subtype)
        assert "Acme Realty" in text
        assert d.postal_address in text
        assert d.unsubscribe_url in text


def test_daily_quota_message_pauses_even_under_a_throttling_code() -> None:
    response: Any = {"Error": {"Code": "Throttling", "Message": "Daily message quota exceeded."}}
    response["ResponseMetadata"] = {"HTTPStatusCode": 400}
    assert isinstance(classify(ClientError(response, "SendEmail")), SendingPaused)


def test_a_draft_without_a_postal_address_is_not_sent_automatically() -> None:
    assert sends_automatically(composed())
    assert not sends_automatically(composed(delivery=delivery(postal_address="")))
    assert not sends_automatically(composed(delivery=delivery(signature="")))
