"""Each real-shaped reply is read as what it is: its kind, its new text without the quoted
history, and whether it asks to stop."""

from __future__ import annotations

import pytest

from realtoros_mailer.inbound.classify import asks_to_stop, kind_of, new_text
from realtoros_mailer.inbound.parse import parse_mail
from tests.mailer.reply_corpus import SAMPLES, WITH_ATTACHMENT, Sample

LIMIT = 1024 * 1024


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda s: s.name)
def test_a_real_shaped_reply_is_read_as_expected(sample: Sample) -> None:
    mail = parse_mail(sample.raw, max_bytes=LIMIT)
    kind, _ = kind_of(mail)
    assert kind == sample.kind
    if kind == "bounce":
        return
    text = new_text(mail.text)
    assert sample.text_has in text
    if sample.text_lacks:
        assert sample.text_lacks not in text
    assert asks_to_stop(text) is sample.stop


def test_attachments_are_named_not_kept() -> None:
    mail = parse_mail(WITH_ATTACHMENT, max_bytes=LIMIT)
    assert mail.attachments == ["offer.pdf"]
    assert "JVBERi" not in mail.text
