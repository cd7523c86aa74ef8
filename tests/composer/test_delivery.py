"""Delivery guarantees around the handler: redelivery is harmless, poison is dead-lettered."""

from __future__ import annotations

import json

from realtoros_contracts import EmailComposed
from realtoros_runtime.consuming import H_DL_REASON
from tests.composer.conftest import ComposerFactory, raw_task_headers
from tests.support.fake_llm import FakeLLM
from tests.support.samples import task_due


async def test_the_same_task_due_delivered_twice_yields_one_email_composed(
    start_composer: ComposerFactory, fake_llm: FakeLLM
) -> None:
    harness = await start_composer()
    task = task_due()
    # The same event (same ce-id) reaching the composer twice, as after a redelivery or a
    # relay re-publishing it; a distinct Nats-Msg-Id gets it past the CRM stream's de-dup.
    headers = raw_task_headers("due:once")
    body = task.model_dump_json().encode()
    await harness.publish_raw_task(body, {**headers, "Nats-Msg-Id": "copy-1"})
    await harness.publish_raw_task(body, {**headers, "Nats-Msg-Id": "copy-2"})

    await harness.wait_processed()
    assert len(fake_llm.requests) == 2  # both were composed…
    events = await harness.composer_events()
    assert [p.envelope.id for p in events] == ["composed:due:once"]  # …and stored once
    assert isinstance(events[0].event, EmailComposed)


async def test_malformed_task_due_is_dead_lettered_and_the_next_one_composed(
    start_composer: ComposerFactory, fake_llm: FakeLLM
) -> None:
    harness = await start_composer()
    await harness.publish_raw_task(b"{not json", raw_task_headers("due:bad-json"))
    invalid = json.dumps({"email_id": "not-a-uuid", "purpose": "Day 1"}).encode()
    await harness.publish_raw_task(invalid, raw_task_headers("due:bad-schema"))
    good = task_due()
    await harness.publish_task(good)

    [composed] = await harness.wait_for(EmailComposed)
    assert composed.email_id == good.email_id
    await harness.wait_processed()
    dead = await harness.stream("deadletter")
    assert [subject for subject, _, _ in dead] == [harness.ns.dead_letter_subject("composer")] * 2
    reasons = [headers[H_DL_REASON] for _, headers, _ in dead]
    assert all(reason.startswith("invalid event body") for reason in reasons)
    assert "email_id" in reasons[1]
    assert [body for _, _, body in dead] == [b"{not json", invalid]
    assert len(fake_llm.requests) == 1


async def test_a_task_due_without_an_envelope_is_dead_lettered(
    start_composer: ComposerFactory,
) -> None:
    harness = await start_composer()
    await harness.publish_raw_task(task_due().model_dump_json().encode(), {"Nats-Msg-Id": "x"})
    await harness.publish_task(task_due())

    await harness.wait_for(EmailComposed)
    await harness.wait_processed()
    [(_, headers, _)] = await harness.stream("deadletter")
    assert headers[H_DL_REASON].startswith("invalid envelope")
