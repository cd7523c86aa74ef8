"""DraftRequested: drafts the agent asked for (on demand or regenerated) always wait for
the agent's review."""

from __future__ import annotations

from realtoros_composer.app import DRAFT_DURABLE
from realtoros_composer.handlers import REQUESTED_REASON
from realtoros_contracts import ComposeFailed, DraftRequested, EmailComposed, envelope_headers
from realtoros_runtime.consuming import H_DL_REASON
from tests.composer.conftest import ComposerFactory
from tests.support.fake_llm import FakeLLM, server_error
from tests.support.samples import task_due


def draft_requested(**changes: object) -> DraftRequested:
    task = task_due()
    return DraftRequested(**{**task.model_dump(), "regenerate": True, **changes})


async def test_a_requested_draft_uses_the_instructions_and_waits_for_review(
    start_composer: ComposerFactory, fake_llm: FakeLLM
) -> None:
    harness = await start_composer()
    request = draft_requested(instructions="Mention the open house on Sunday at 2pm.")
    await harness.crm.publish(request, event_id="draft:1")

    [composed] = await harness.wait_for(EmailComposed)
    assert composed.email_id == request.email_id
    assert composed.needs_review is True
    assert composed.review_reasons == [REQUESTED_REASON]
    [published] = await harness.composer_events()
    assert published.envelope.id == "composed:draft:1"
    prompt = fake_llm.requests[0]["body"]["messages"][1]["content"]
    assert "Agent's instructions for this email: Mention the open house on Sunday" in prompt
    await harness.wait_processed(durable=DRAFT_DURABLE)


async def test_a_requested_template_draft_also_waits_for_review(
    start_composer: ComposerFactory, fake_llm: FakeLLM
) -> None:
    harness = await start_composer(openai_api_key=None)
    await harness.crm.publish(draft_requested(purpose="On demand"), event_id="draft:2")

    [composed] = await harness.wait_for(EmailComposed)
    assert composed.composer == "template"
    assert composed.needs_review is True
    assert composed.review_reasons[0] == REQUESTED_REASON
    assert composed.subject.startswith("A quick note")
    assert fake_llm.requests == []


async def test_a_requested_draft_that_cannot_be_composed_is_reported(
    start_composer: ComposerFactory, fake_llm: FakeLLM
) -> None:
    fake_llm.script([], default=server_error(500, retry_after_ms=5))
    harness = await start_composer(llm_max_retries=1)
    await harness.crm.publish(draft_requested(), event_id="draft:3")

    [failed] = await harness.wait_for(ComposeFailed)
    assert failed.attempts == 2
    [published] = await harness.composer_events()
    assert published.envelope.id == "compose-failed:draft:3"


async def test_a_malformed_draft_request_is_dead_lettered_and_the_next_one_composed(
    start_composer: ComposerFactory, fake_llm: FakeLLM
) -> None:
    harness = await start_composer()
    headers = envelope_headers(draft_requested(), event_id="draft:bad", source="realtoros/crm")
    subject, stream = harness.ns.subject(DraftRequested), harness.ns.stream_name("crm")
    await harness.crm.publish_raw(subject, b'{"regenerate": "x"}', headers, stream=stream)
    good = draft_requested()
    await harness.crm.publish(good, event_id="draft:good")

    [composed] = await harness.wait_for(EmailComposed)
    assert composed.email_id == good.email_id
    await harness.wait_processed(durable=DRAFT_DURABLE)
    [(_, dead_headers, body)] = await harness.stream("deadletter")
    assert dead_headers[H_DL_REASON].startswith("invalid event body")
    assert body == b'{"regenerate": "x"}'
