"""A TaskDue carrying the agent's rendered template: the composer sends that text as it is,
with no LLM call (the CRM filled it in; the composer never calls back)."""

from __future__ import annotations

import uuid

from realtoros_contracts import EmailComposed, TemplateText
from tests.composer.conftest import ComposerFactory
from tests.support.fake_llm import FakeLLM
from tests.support.samples import task_due


async def test_a_rendered_template_is_sent_as_written_without_the_llm(
    start_composer: ComposerFactory, fake_llm: FakeLLM
) -> None:
    harness = await start_composer()
    template = TemplateText(
        template_id=uuid.uuid4(),
        name="Open house",
        subject="Open house at 12 Oak Street",
        body="Hi Maria,\n\nSee you Saturday.\n\nDana",
    )
    task = task_due(template=template)
    await harness.publish_task(task)

    [composed] = await harness.wait_for(EmailComposed)
    assert (composed.subject, composed.body_text) == (template.subject, template.body)
    assert composed.composer == "template"
    assert composed.needs_review is False
    assert composed.delivery == task.delivery
    assert fake_llm.requests == []
