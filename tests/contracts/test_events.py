from __future__ import annotations

import json

import jsonschema
import pytest
from pydantic import ValidationError

from realtoros_contracts import (
    ALL_EVENTS,
    DEFAULT_NAMESPACE,
    DeliveryContext,
    EmailSent,
    Event,
    SchedulerTick,
    TaskDue,
)
from realtoros_contracts.schemas import event_schema, export_schemas
from tests.support.samples import DELIVERY, IDS, NOW, sample, samples


def test_every_event_has_a_sample() -> None:
    assert {type(e) for e in samples()} == set(ALL_EVENTS)


@pytest.mark.parametrize("event", samples(), ids=lambda e: e.TYPE)
def test_event_round_trips_through_json(event: Event) -> None:
    again = type(event).model_validate_json(event.model_dump_json())
    assert again == event


@pytest.mark.parametrize("event", samples(), ids=lambda e: e.TYPE)
def test_event_json_validates_against_its_schema(event: Event) -> None:
    schema = event_schema(type(event))
    jsonschema.validate(json.loads(event.model_dump_json()), schema)


@pytest.mark.parametrize("event_cls", ALL_EVENTS, ids=lambda c: c.TYPE)
def test_schema_rejects_an_empty_object(event_cls: type[Event]) -> None:
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({}, event_schema(event_cls))


def test_types_are_versioned_and_unique() -> None:
    types = [cls.TYPE for cls in ALL_EVENTS]
    assert len(set(types)) == len(types)
    assert all(t.startswith("realtoros.") and t.rsplit(".", 1)[1].startswith("v") for t in types)


def test_naive_times_are_rejected() -> None:
    with pytest.raises(ValidationError, match="timezone"):
        EmailSent(**IDS, provider_message_id="x", transport="ses", sent_at=NOW.replace(tzinfo=None))


@pytest.mark.parametrize("field", ["to_name", "from_name", "to_email", "reply_to"])
def test_header_fields_refuse_line_breaks(field: str) -> None:
    data = DELIVERY.model_dump() | {field: "Dana\r\nBcc: victim@example.com"}
    with pytest.raises(ValidationError, match="control characters"):
        DeliveryContext(**data)


def test_unknown_fields_are_ignored_for_forward_compatibility() -> None:
    event = sample(EmailSent)
    data = json.loads(event.model_dump_json()) | {"added_in_a_later_minor_version": 1}
    assert EmailSent.model_validate(data) == event


def test_tick_id_is_schedule_and_slot() -> None:
    assert SchedulerTick.event_id("due-tasks", NOW) == "tick:due-tasks:2026-11-20T15:30:00+00:00"


def test_export_writes_one_schema_per_event(tmp_path) -> None:
    paths = export_schemas(tmp_path)
    assert sorted(p.name for p in paths) == sorted(f"{c.TYPE}.json" for c in ALL_EVENTS)
    task_due = json.loads((tmp_path / f"{TaskDue.TYPE}.json").read_text())
    assert task_due["x-nats-subject"] == DEFAULT_NAMESPACE.subject(TaskDue)
    jsonschema.Draft202012Validator.check_schema(task_due)
