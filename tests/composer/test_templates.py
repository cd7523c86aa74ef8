"""Template mode: the embedded default when no LLM key is set."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from realtoros_composer.templates import TEMPLATE_REVIEW_REASON, TemplateComposer, render
from realtoros_contracts import ClientContext, EmailComposed, TimelineEntry
from tests.composer.conftest import ComposerFactory
from tests.support.fake_llm import FakeLLM
from tests.support.samples import task_due

PURPOSES = ["Day 1", "Day 3", "Week 1", "Week 2", "Month 1"]


def client(**changes: object) -> ClientContext:
    return task_due().client.model_copy(update=changes)


async def test_without_a_key_the_composer_uses_templates_end_to_end(
    start_composer: ComposerFactory, fake_llm: FakeLLM
) -> None:
    harness = await start_composer(openai_api_key=None)
    tricky = client(
        name="{Ana} $agent_name Bee}",
        notes="Budget {client_first_name} }{ ${property_address} {0} %s",
        property_address="7 {Curly} Lane",
    )
    task = task_due(purpose="Day 1", client=tricky)
    event_id = await harness.publish_task(task)

    [composed] = await harness.wait_for(EmailComposed)
    assert composed.composer == "template"
    assert composed.model is None
    assert composed.usage is None
    assert composed.needs_review is False  # automatic mode: it must flow to the mailer
    assert composed.body_text.startswith("Hi {Ana},")
    assert "7 {Curly} Lane" in composed.subject + composed.body_text
    assert "Sam Rivera" in composed.body_text
    assert composed.delivery == task.delivery
    assert composed.email_id == task.email_id
    [published] = await harness.composer_events()
    assert published.envelope.id == f"composed:{event_id}"
    assert fake_llm.requests == []


async def test_template_mode_is_used_even_with_a_key(
    start_composer: ComposerFactory, fake_llm: FakeLLM
) -> None:
    harness = await start_composer(composer_mode="template")
    await harness.publish_task(task_due())

    [composed] = await harness.wait_for(EmailComposed)
    assert composed.composer == "template"
    assert fake_llm.requests == []


@pytest.mark.parametrize("purpose", PURPOSES)
def test_each_step_has_its_own_email_with_the_merge_fields(purpose: str) -> None:
    subject, body = render(task_due(purpose=purpose))
    assert body.startswith("Hi Maria,\n\n")
    assert "12 Oak Street, Springfield" in subject + body
    assert "$" not in subject + body
    assert 3 <= body.count("\n\n") <= 5
    assert "?" in body.split("\n\n")[-1]  # it ends with a call to action
    others = {render(task_due(purpose=p))[0] for p in PURPOSES if p != purpose}
    assert subject not in others


@pytest.mark.parametrize("purpose", ["day-1", "DAY_1", " day 1 "])
def test_purposes_are_matched_loosely(purpose: str) -> None:
    assert render(task_due(purpose=purpose)) == render(task_due(purpose="Day 1"))


def test_without_a_property_the_sentence_reads_without_it() -> None:
    for purpose in [*PURPOSES, "Open house invite"]:
        subject, body = render(task_due(purpose=purpose, client=client(property_address=None)))
        text = subject + body
        assert "Street" not in text
        assert " None" not in text.replace("None of", "")
        assert "  " not in text
        assert " ." not in text
        assert "$" not in text


def test_any_other_purpose_gets_the_custom_email() -> None:
    no_property = client(property_address=None)
    subject, body = render(task_due(purpose="Open house\ninvite", client=no_property))
    assert subject == "Following up: Open house invite"
    assert body.startswith("Hi Maria,")
    subject, _ = render(task_due(purpose="Open house"))
    assert subject == "Following up on 12 Oak Street, Springfield"


def test_a_client_without_a_usable_name_is_greeted_politely() -> None:
    _, body = render(task_due(client=client(name="   ")))
    assert body.startswith("Hi there,")
    _, body = render(task_due(client=client(name="Dr. Lee")))
    assert body.startswith("Hi Dr. Lee,")


async def test_approval_mode_template_drafts_say_they_are_templates() -> None:
    approval = task_due().delivery.model_copy(update={"send_mode": "approval"})
    draft = await TemplateComposer().compose(task_due(delivery=approval))
    assert draft.review_reasons == [TEMPLATE_REVIEW_REASON]
    draft = await TemplateComposer().compose(task_due())
    assert draft.review_reasons == []


CONVERSATION_WORDS = ("our conversation", "since we spoke", "talk with me", "could talk")


@pytest.mark.parametrize("purpose", [*PURPOSES, "Custom", "On demand", "Open house"])
def test_templates_never_claim_a_conversation_the_timeline_does_not_show(purpose: str) -> None:
    sent_only = [
        TimelineEntry(at=datetime.now(UTC) - timedelta(days=3), kind="email_sent", summary="x")
    ]
    for timeline in ([], sent_only):
        subject, body = render(task_due(purpose=purpose, timeline=timeline))
        text = (subject + body).lower()
        assert not any(words in text for words in CONVERSATION_WORDS), (purpose, text)


def test_with_a_call_on_the_timeline_the_day1_email_may_refer_to_it() -> None:
    _, body = render(task_due(purpose="Day 1"))  # the default timeline has a call
    assert "following up on our conversation" in body


def test_the_on_demand_step_has_its_own_email() -> None:
    subject, body = render(task_due(purpose="On demand"))
    assert subject == "A quick note about 12 Oak Street, Springfield"
    assert body.startswith("Hi Maria,")
    assert "?" in body.split("\n\n")[-1]


@pytest.mark.parametrize("purpose", [*PURPOSES, "Custom", "On demand", "", "{purpose}", "$x"])
def test_templates_never_crash_on_braces_dollars_or_missing_fields(purpose: str) -> None:
    empty_agent = task_due().agent.model_copy(update={"name": "", "brokerage": None})
    odd = client(name="{x} ${y} %(z)s", property_address="{0} $$ }{", notes=None)
    for case in (
        task_due(purpose=purpose, client=odd, agent=empty_agent, timeline=[]),
        task_due(purpose=purpose, client=client(name="", property_address=None), timeline=[]),
    ):
        subject, body = render(case)
        assert subject
        assert body.startswith("Hi ")
        assert " None" not in (subject + body).replace("None of", "")
