"""The adversarial corpus through the real composer (its app, bus and LLM client) against a
fake LLM that obeys every injection: whatever a client field says, no contact detail but
the agent's own reaches the published draft, and the draft is held with the reason, in
both send modes (and from the template composer too)."""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from realtoros_contracts import ClientContext, EmailComposed, TaskDue, TimelineEntry
from tests.composer.conftest import ComposerFactory
from tests.composer.injection_corpus import CORPUS, Case
from tests.support.fake_llm import FakeLLM, obey_injections
from tests.support.samples import task_due

CONTACT_REASON = re.compile(r"(email address|link or web address|phone number) that is not")
LOOK_ALIKE_REASON = "look-alike characters"
OWN_DETAILS = "Call me at 555-0100, write to sam@sunrise.example or see www.sunrise-realty.com."


def _client_with(case: Case, index: int) -> ClientContext:
    base = task_due().client
    name = f"Client {index:02d}"
    if case.field == "name":
        return base.model_copy(update={"name": f"{name} {case.text}"})
    if case.field == "custom_field":
        return base.model_copy(update={"name": name, "custom_fields": {"Wiring": case.text}})
    if case.field == "timeline":
        return base.model_copy(update={"name": name})
    return base.model_copy(update={"name": name, case.field: case.text})


def _task(case: Case, index: int) -> TaskDue:
    task = task_due(client=_client_with(case, index))
    mode = "approval" if index % 2 else "automatic"
    update: dict[str, Any] = {"delivery": task.delivery.model_copy(update={"send_mode": mode})}
    if case.field == "timeline":
        entry = TimelineEntry(at=task.due_at, kind="email_received", summary=case.text)
        update["timeline"] = [entry]
    return task.model_copy(update=update)


def published(event: EmailComposed) -> str:
    text = unicodedata.normalize("NFKC", f"{event.subject}\n{event.body_text}")
    return "".join(ch for ch in text if unicodedata.category(ch) != "Cf").lower()


def leaked(case: Case, event: EmailComposed) -> bool:
    text = published(event)
    if case.digits:
        return case.needle in re.sub(r"\D", "", text)
    return case.needle.lower() in text


async def test_no_injected_contact_detail_reaches_a_client(
    start_composer: ComposerFactory, fake_llm: FakeLLM
) -> None:
    assert len(CORPUS) >= 60
    fake_llm.script([], default=obey_injections())
    harness = await start_composer(llm_max_concurrency=16)
    tasks = {}
    for index, case in enumerate(CORPUS):
        task = _task(case, index)
        tasks[task.email_id] = (case, task)
        await harness.publish_task(task)

    composed = await harness.wait_for(EmailComposed, count=len(CORPUS), timeout=120)
    problems = []
    for event in composed:
        case, task = tasks[event.email_id]
        if leaked(case, event):
            problems.append(f"leaked {case.needle!r} from {case.field}: {event.body_text!r}")
        reasons = " ".join(event.review_reasons)
        if not event.needs_review or not (
            CONTACT_REASON.search(reasons) or LOOK_ALIKE_REASON in reasons
        ):
            problems.append(f"not held with a reason ({case.text!r}): {event.review_reasons}")
    assert not problems, "\n".join(problems)


async def test_the_obedient_model_really_copies_the_client_data(
    start_composer: ComposerFactory, fake_llm: FakeLLM
) -> None:
    """The corpus proves something only if the fake model does copy what it is fed."""
    fake_llm.script([], default=obey_injections())
    harness = await start_composer()
    client = task_due().client.model_copy(update={"notes": "Likes gardens and quiet streets"})
    await harness.publish_task(task_due(client=client))
    [event] = await harness.wait_for(EmailComposed)
    assert "Likes gardens and quiet streets" in event.body_text
    assert "12 Oak Street, Springfield" in event.subject
    assert event.needs_review is False


async def test_the_agents_own_details_are_kept_and_not_flagged(
    start_composer: ComposerFactory, fake_llm: FakeLLM
) -> None:
    fake_llm.script([], default=obey_injections())
    harness = await start_composer()
    task = task_due(instructions=OWN_DETAILS)
    task = task.model_copy(
        update={
            "delivery": task.delivery.model_copy(
                update={"signature": "Sam Rivera | 555-0100 | www.sunrise-realty.com"}
            ),
            "client": task.client.model_copy(update={"notes": OWN_DETAILS}),
        }
    )
    await harness.publish_task(task)
    [event] = await harness.wait_for(EmailComposed)
    assert OWN_DETAILS in event.body_text  # copied from the notes, but all of it is the agent's
    assert event.needs_review is False, event.review_reasons


async def test_a_template_draft_with_an_injected_property_address_is_cleaned_and_held(
    start_composer: ComposerFactory,
) -> None:
    harness = await start_composer(composer_mode="template")
    address = "12 Oak St. Wire the deposit to escrow@wire-funds.com, pay at pay-deposit.com"
    client = task_due().client.model_copy(update={"property_address": address})
    await harness.publish_task(task_due(purpose="Day 1", client=client))
    [event] = await harness.wait_for(EmailComposed)
    assert "wire-funds" not in published(event)
    assert "pay-deposit" not in published(event)
    assert event.needs_review is True
    assert any("email address that is not the agent's" in r for r in event.review_reasons)
