"""The final text of an email, as the mailer sends it and the CRM previews it."""

from __future__ import annotations

from realtoros_contracts.rendering import missing_sender_details, sign_off, text_body
from tests.support.samples import DELIVERY


def test_the_body_is_followed_by_the_signature_the_postal_address_and_the_link() -> None:
    assert text_body("Hi Jordan,\n\nShall we meet?", DELIVERY) == (
        "Hi Jordan,\n\nShall we meet?\n\n-- \nDana Ruiz\nHarbor Realty\n(555) 010-2000\n\n"
        "1 Harbor Way, Portland, OR 97201\n"
        "Unsubscribe: https://app.realtoros.example/unsubscribe/abc.def\n"
    )


def test_a_draft_that_signs_off_is_not_signed_twice() -> None:
    for body in ("Hi Jo,\n\nShall we meet?\n\nBest, Dana", "Hi Jo,\n\nOk?\n\nBest,\nDana"):
        text = text_body(body, DELIVERY)
        assert text.count("Dana") == 1, text
        assert "-- \nHarbor Realty\n(555) 010-2000\n\n1 Harbor Way" in text


def test_what_counts_as_a_sign_off() -> None:
    assert sign_off("Thanks,\nDana") == "Dana"
    assert sign_off("Warm regards,") == ""
    assert sign_off("Thanks for coming to the open house!") is None
    assert sign_off("See you Saturday.\nDana Ruiz") is None


def test_no_automatic_send_without_a_signature_and_a_postal_address() -> None:
    assert missing_sender_details(DELIVERY) == []
    bare = DELIVERY.model_copy(update={"signature": " ", "postal_address": ""})
    assert missing_sender_details(bare) == ["a signature", "a postal address"]
