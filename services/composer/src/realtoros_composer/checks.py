"""The checks a draft passes before it is published, and the clean-up done on every draft.

``check`` returns the reasons a draft needs the agent's review (empty: it may be sent).
``sanitize`` removes what must never go out even in a draft for review: any contact detail
(address, link, domain, phone number, look-alike text) that is not the agent's own (see
``contacts``: they may come from a prompt injection in any client field), and a trailing
sign-off (the mailer signs).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from realtoros_composer.contacts import Trusted, scrub
from realtoros_composer.fair_housing import fair_housing_flags
from realtoros_contracts import TaskDue

SUBJECT_MIN, SUBJECT_MAX_CHECK = 3, 120
BODY_MIN, BODY_MAX_CHECK = 80, 3000

PLACEHOLDER = re.compile(
    r"\[(?:your|client|agent|insert|name|address|date|phone|first|last|property|company)"
    r"[^\]]{0,40}\]|\{\{?\s*[a-z_ ]{1,40}\s*\}?\}|<\s*[A-Z_ ]{2,40}\s*>",
    re.IGNORECASE,
)
_AMOUNT = re.compile(r"[$€£]\s?\d[\d,.]*(?:\s?[kKmM]\b)?")
_CLOSING = re.compile(
    r"^(?:best|best regards|kind regards|warm regards|warmly|regards|sincerely|cheers|"
    r"all the best|talk soon|thanks|many thanks|yours truly|respectfully)[,.!]?$",
    re.IGNORECASE,
)
_MARKDOWN = re.compile(r"^\s{0,3}#{1,6}\s|\*\*[^*]+\*\*|^\s*```|\[[^\]]+\]\([^)]+\)", re.MULTILINE)
_BULLET = re.compile(r"^\s*(?:[-*•]|\d+[.)])\s+", re.MULTILINE)
_AI_SPEAK = re.compile(
    r"\bas an ai\b|\blanguage model\b|\bi cannot (?:help|assist|write)\b|"
    r"^\s*(?:subject|here is|here's) (?:the|your)? ?(?:email|draft)?\s*:",
    re.IGNORECASE | re.MULTILINE,
)
MAX_BULLETS = 3


@dataclass(frozen=True)
class Cleaned:
    subject: str
    body: str
    reasons: list[str]
    """What was removed, as review reasons."""


def trusted_contacts(task: TaskDue) -> Trusted:
    """The agent's own contact details: the only ones an email may carry."""
    agent, delivery = task.agent, task.delivery
    return Trusted.of(
        [
            task.instructions,
            agent.email,
            agent.phone,
            delivery.reply_to,
            delivery.signature,
            delivery.postal_address,
            delivery.unsubscribe_url,
        ]
    )


def all_context(task: TaskDue) -> str:
    """Every text the draft may draw figures from (trusted or not: amounts are checked,
    not removed)."""
    agent, client = task.agent, task.client
    parts = [task.instructions, agent.name, agent.brokerage, client.property_address]
    parts += [client.notes, *client.custom_fields.values()]
    return " ".join([*(p for p in parts if p), *(entry.summary for entry in task.timeline)])


def strip_sign_off(body: str) -> str:
    """Drop a trailing sign-off ("Best regards,\\nJane"): the mailer adds the signature,
    so a model that signs anyway would sign twice."""
    lines = body.rstrip().splitlines()
    for back in range(1, min(4, len(lines)) + 1):
        if _CLOSING.match(lines[-back].strip()):
            kept = "\n".join(lines[:-back]).rstrip()
            return kept or body.strip()
    return body.strip()


def sanitize(subject: str, body: str, task: TaskDue) -> Cleaned:
    """Remove every contact detail that is not the agent's, and a trailing sign-off."""
    trusted = trusted_contacts(task)
    clean_subject, clean_body = scrub(subject, trusted), scrub(body, trusted)
    reasons = list(dict.fromkeys(clean_subject.reasons + clean_body.reasons))
    return Cleaned(clean_subject.text, strip_sign_off(clean_body.text), reasons)


def check(subject: str, body: str, task: TaskDue) -> list[str]:
    """Why the agent should look at this draft before it goes out (empty: it is clean)."""
    text = f"{subject}\n{body}"
    reasons = _length_reasons(subject, body)
    if PLACEHOLDER.search(text):
        reasons.append("the draft contains an unfilled placeholder")
    known = {_digits(m) for m in _AMOUNT.findall(all_context(task))}
    if any(_digits(m) not in known for m in _AMOUNT.findall(text)):
        reasons.append("the draft mentions an amount that is not in the client's data")
    if _MARKDOWN.search(body) or len(_BULLET.findall(body)) > MAX_BULLETS:
        reasons.append("the draft is not plain prose (Markdown headings, bold or many bullets)")
    if _AI_SPEAK.search(text):
        reasons.append("the draft reads like an AI assistant, not the agent")
    if _signed(body, task):
        reasons.append("the draft ends with a signature block (the mailer adds the signature)")
    return reasons + fair_housing_flags(text)


def _length_reasons(subject: str, body: str) -> list[str]:
    reasons = []
    if not SUBJECT_MIN <= len(subject) <= SUBJECT_MAX_CHECK:
        reasons.append(
            f"the subject is {len(subject)} characters (expected {SUBJECT_MIN}-{SUBJECT_MAX_CHECK})"
        )
    if not BODY_MIN <= len(body) <= BODY_MAX_CHECK:
        reasons.append(f"the body is {len(body)} characters (expected {BODY_MIN}-{BODY_MAX_CHECK})")
    return reasons


def _signed(body: str, task: TaskDue) -> bool:
    """The last lines carry the agent's name, phone or email on their own: a signature."""
    agent = task.agent
    marks = {m.lower() for m in (agent.name, agent.phone, agent.email, agent.brokerage) if m}
    tail = [line.strip().lower() for line in body.strip().splitlines()[-3:]]
    return any(
        line in marks or (line.startswith(("-", "—")) and line.lstrip("-— ") in marks)
        for line in tail
    )


def _digits(amount: str) -> str:
    return re.sub(r"[^\d]", "", amount)
