"""Offline drafting: one decent email per follow-up step, with merge fields.

``string.Template`` substitutes the client's and agent's data in one pass and never
parses it, so a name or address with ``{``, ``}`` or ``$`` in it is just text.
"""

from __future__ import annotations

from dataclasses import dataclass
from string import Template

from realtoros_composer.drafts import SUBJECT_MAX, Draft, flatten
from realtoros_composer.history import history_of
from realtoros_composer.prompt import first_name, purpose_key
from realtoros_contracts import TaskDue

TEMPLATE_REVIEW_REASON = "written from the standard template: no LLM is set up"
INSTRUCTIONS_IGNORED = (
    "your instructions were not applied: following instructions needs an LLM, and none is "
    "set up (OPENAI_API_KEY). This is the standard template: edit it by hand before approving"
)


@dataclass(frozen=True)
class EmailTemplate:
    subject: str
    subject_with_property: str
    paragraphs: tuple[str, ...]
    """``$property_clause`` is replaced by ``with_property`` or ``without_property``."""
    with_property: str
    without_property: str
    first_without_conversation: str | None = None
    """Replaces the first paragraph when the timeline shows no conversation with the
    client: a template never thanks anyone for a talk that did not happen."""


TEMPLATES: dict[str, EmailTemplate] = {
    "day1": EmailTemplate(
        subject="Great to connect, $client_first_name",
        subject_with_property="Great to connect about $property_address",
        paragraphs=(
            "This is $agent_name, following up on our conversation. Thank you for taking "
            "the time to talk with me; it was a pleasure to hear what you are looking "
            "for$property_clause.",
            "My goal is to make this as easy as possible for you. I will keep an eye out for "
            "anything that fits and share it with you as soon as it comes up.",
            "Is there a good time this week for a short call to go over your priorities?",
        ),
        with_property=", and I am glad we could talk about $property_address",
        without_property="",
        first_without_conversation="This is $agent_name, and I wanted to introduce myself "
        "properly. I am glad we are connected and look forward to helping you$with_property.",
    ),
    "day3": EmailTemplate(
        subject="A few thoughts for your search, $client_first_name",
        subject_with_property="A few thoughts on $property_address",
        paragraphs=(
            "I wanted to follow up on our conversation$property_clause.",
            "Questions usually come up in the first days: about neighbourhoods, timing or "
            "financing. None of them is too small, and I am happy to help with any of them.",
            "Would you like me to put together a short overview of what is available right "
            "now? Just reply to this email and let me know.",
        ),
        with_property=" and share a few thoughts on $property_address",
        without_property=" and see how your search is going",
        first_without_conversation="I wanted to reach out$property_clause.",
    ),
    "week1": EmailTemplate(
        subject="Checking in after our first week, $client_first_name",
        subject_with_property="An update on $property_address",
        paragraphs=(
            "It has been about a week since we spoke, and I wanted to check in$property_clause.",
            "The market moves quickly, and having a clear picture of what matters most to "
            "you helps me spot the right opportunities early.",
            "Do you have 15 minutes this week to catch up? Reply with a time that suits you "
            "and I will make it work.",
        ),
        with_property=" on your plans for $property_address",
        without_property=" on how things are going for you",
        first_without_conversation="It has been about a week since we connected, and I "
        "wanted to check in$property_clause.",
    ),
    "week2": EmailTemplate(
        subject="How is everything going, $client_first_name?",
        subject_with_property="Still thinking about $property_address?",
        paragraphs=(
            "I hope the past couple of weeks have gone well. I wanted to see where things "
            "stand$property_clause.",
            "If your plans or priorities have changed, that is completely fine: knowing "
            "where you are now helps me help you better.",
            "Would a quick call or a coffee next week be useful? Let me know what works for you.",
        ),
        with_property=" with $property_address",
        without_property=" with your search",
    ),
    "month1": EmailTemplate(
        subject="One month on: how can I help, $client_first_name?",
        subject_with_property="One month on: your plans for $property_address",
        paragraphs=(
            "It has been about a month since we first connected, and I wanted to reach out"
            "$property_clause.",
            "Whether you are ready to move forward or still weighing your options, I am "
            "here to answer questions and share what I am seeing in the market.",
            "Would you like to set up a time to talk about your next steps? Just reply and "
            "let me know.",
        ),
        with_property=" about $property_address",
        without_property=" and see where things stand for you",
    ),
}

TEMPLATES["ondemand"] = EmailTemplate(
    subject="A quick note, $client_first_name",
    subject_with_property="A quick note about $property_address",
    paragraphs=(
        "I wanted to reach out$property_clause.",
        "If you have any questions, or if anything has changed in what you are looking "
        "for, I would be glad to help.",
        "Would you have a few minutes this week to talk? Just reply with a time that suits you.",
    ),
    with_property=" about $property_address",
    without_property=" personally",
)

CUSTOM = EmailTemplate(
    subject="Following up: $purpose",
    subject_with_property="Following up on $property_address",
    paragraphs=(
        "I wanted to follow up with you$property_clause.",
        "If anything has changed on your side, or if there is anything I can help with, "
        "I would be glad to hear from you.",
        "Would you have a few minutes this week to talk? Just reply to this email with a "
        "time that suits you.",
    ),
    with_property=" about $property_address",
    without_property="",
)


def render(task: TaskDue) -> tuple[str, str]:
    """The subject and body of the template email for this task."""
    template = TEMPLATES.get(purpose_key(task.purpose), CUSTOM)
    paragraphs_in = list(template.paragraphs)
    if template.first_without_conversation and not history_of(task).conversation:
        paragraphs_in[0] = template.first_without_conversation
    address = flatten(task.client.property_address)
    fields = {
        "client_first_name": flatten(first_name(task.client.name)) or "there",
        "agent_name": flatten(task.agent.name) or "your agent",
        "property_address": address,
        "purpose": flatten(task.purpose) or "a quick note",
        "with_property": f" with {address}" if address else "",
    }
    clause = Template(template.with_property if address else template.without_property)
    fields["property_clause"] = clause.substitute(fields)
    subject = Template(template.subject_with_property if address else template.subject)
    greeting = Template("Hi $client_first_name,").substitute(fields)
    paragraphs = [Template(p).substitute(fields) for p in paragraphs_in]
    subject_text = subject.substitute(fields)
    if len(subject_text) > SUBJECT_MAX:
        subject_text = subject_text[: SUBJECT_MAX - 1].rstrip() + "…"
    return subject_text, "\n\n".join([greeting, *paragraphs])


class TemplateComposer:
    """Composes without an LLM. Approval-mode drafts are flagged so the agent knows the
    text came from a template; automatic ones flow straight to the mailer, unless the task
    has instructions: a template cannot follow them, so that draft waits for the agent."""

    async def compose(self, task: TaskDue) -> Draft:
        subject, body = render(task)
        review = [TEMPLATE_REVIEW_REASON] if task.delivery.send_mode == "approval" else []
        if task.instructions and task.instructions.strip():
            review = [INSTRUCTIONS_IGNORED]
        return Draft(subject=subject, body=body, composer="template", review_reasons=review)
