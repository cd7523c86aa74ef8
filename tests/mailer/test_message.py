"""Building the MIME message, and telling SES failures apart."""

from __future__ import annotations

from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from typing import Any

import pytest
from botocore.exceptions import ClientError, ReadTimeoutError

from realtoros_contracts import DeliveryContext
from realtoros_mailer.message import InvalidEmail, build_message
from realtoros_mailer.transports import SendNotAttempted, SendRejected
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
        (_client_error("TooManyRequestsException", 429), SendNotAttempted),
        (_client_error("Throttling", 400), SendNotAttempted),
        (_client_error("AccessDeniedException", 403), SendNotAttempted),
        (_client_error("InternalFailure", 500), None),
        (ReadTimeoutError(endpoint_url="https://email.us-east-1.amazonaws.com"), None),
        (TimeoutError(), None),
    ],
)
def test_ses_errors_are_classified(error: Exception, expected: type | None) -> None:
    result = classify(error)
    assert (type(result) if result is not None else None) is expected
