from __future__ import annotations

import pytest

from realtoros_contracts import (
    EmailSent,
    EnvelopeError,
    Namespace,
    SchedulerTick,
    TaskDue,
    decode,
    encode,
    envelope_headers,
)
from tests.support.samples import sample, samples

SENT = sample(EmailSent)


def test_headers_carry_cloudevents_attributes_and_the_message_id() -> None:
    headers = envelope_headers(SENT, event_id="sent:1", source="realtoros/mailer")
    assert headers["ce-id"] == headers["Nats-Msg-Id"] == "sent:1"
    assert headers["ce-type"] == "realtoros.email.sent.v1"
    assert headers["ce-specversion"] == "1.0"
    assert headers["ce-subject"] == str(SENT.email_id)
    assert headers["ce-time"].endswith("+00:00")


def test_decode_returns_envelope_and_event() -> None:
    headers = envelope_headers(SENT, event_id="sent:1", source="realtoros/mailer")
    envelope, event = decode(EmailSent, headers, encode(SENT))
    assert envelope.id == "sent:1"
    assert event == SENT


def test_decode_refuses_another_type() -> None:
    headers = envelope_headers(SENT, event_id="sent:1", source="realtoros/mailer")
    with pytest.raises(EnvelopeError, match=r"expected ce-type 'realtoros\.task\.due\.v1'"):
        decode(TaskDue, headers, encode(SENT))


@pytest.mark.parametrize("missing", ["ce-id", "ce-type", "ce-source", "ce-time"])
def test_decode_refuses_missing_attributes(missing: str) -> None:
    headers = envelope_headers(SENT, event_id="sent:1", source="realtoros/mailer")
    del headers[missing]
    with pytest.raises(EnvelopeError, match=missing):
        decode(EmailSent, headers, encode(SENT))


def test_decode_refuses_a_time_without_zone() -> None:
    headers = envelope_headers(SENT, event_id="sent:1", source="realtoros/mailer")
    headers["ce-time"] = "2026-11-20T15:30:00"
    with pytest.raises(EnvelopeError, match="time zone"):
        decode(EmailSent, headers, encode(SENT))


def test_subjects_follow_the_naming_scheme() -> None:
    ns = Namespace("realtoros")
    assert ns.subject(TaskDue) == "realtoros.crm.task.due"
    assert ns.subject(EmailSent) == "realtoros.mailer.email.sent"
    assert ns.tick_subject("due-tasks") == "realtoros.scheduler.tick.due-tasks"
    assert ns.event_for_subject("realtoros.crm.task.due") is TaskDue
    assert ns.event_for_subject("realtoros.scheduler.tick.due-tasks") is SchedulerTick
    assert ns.event_for_subject("other.crm.task.due") is None


def test_every_subject_is_in_exactly_one_stream() -> None:
    ns = Namespace("abc")
    for event in samples():
        subject = ns.subject(event)
        owners = [
            spec.name
            for spec in ns.streams()
            if any(subject.startswith(s.rstrip(">")) for s in spec.subjects)
        ]
        assert owners == [ns.stream_for(event).name]


@pytest.mark.parametrize("bad", ["", "Upper", "has.dot", "has space", "1digit"])
def test_namespace_names_are_checked(bad: str) -> None:
    with pytest.raises(ValueError, match="namespace"):
        Namespace(bad)
