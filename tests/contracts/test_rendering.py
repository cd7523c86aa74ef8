"""The final text of an email, as the mailer sends it and the CRM previews it."""

from __future__ import annotations

from realtoros_contracts import DeliveryContext
from realtoros_contracts.rendering import missing_sender_details, sign_off, text_body

DELIVERY = DeliveryContext(
    to_email="jo@example.com",
    to_name="Jo",
    from_name="Dana Ruiz",
    reply_to="dana@harbor.example",
    signature="Dana Ruiz\nHarbor Realty · +1 555 0100",
    postal_address="1 Harbor Way, Salem, MA 01970",
    unsubscribe_url="https://crm.example/unsubscribe/t",
)


def test_the_body_is_followed_by_the_signature_the_postal_address_and_the_link() -> None:
    assert text_body("Hi Jo,\n\nShall we meet?", DELIVERY) == (
        "Hi Jo,\n\nShall we meet?\n\n-- \nDana Ruiz\nHarbor Realty · +1 555 0100\n\n"
        "1 Harbor Way, Salem, MA 01970\nUnsubscribe: https://crm.example/unsubscribe/t\n"
    )


def test_a_draft_that_signs_off_is_not_signed_twice() -> None:
    for body in ("Hi Jo,\n\nShall we meet?\n\nBest, Dana", "Hi Jo,\n\nOk?\n\nBest,\nDana"):
        text = text_body(body, DELIVERY)
        assert text.count("Dana") == 1, text
        assert "-- \nHarbor Realty · +1 555 0100\n\n1 Harbor Way" in text


def test_what_counts_as_a_sign_off() -> None:
    assert sign_off("Thanks,\nDana") == "Dana"
    assert sign_off("Warm regards,") == ""
    assert sign_off("Thanks for coming to the open house!") is None
    assert sign_off("See you Saturday.\nDana Ruiz") is None


def test_no_automatic_send_without_a_signature_and_a_postal_address() -> None:
    assert missing_sender_details(DELIVERY) == []
    bare = DELIVERY.model_copy(update={"signature": " ", "postal_address": ""})
    assert missing_sender_details(bare) == ["a signature", "a postal address"]
