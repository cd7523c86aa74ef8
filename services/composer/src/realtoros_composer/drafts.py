"""What a composer produces, how a draft is validated, and the checks that send a draft to
the agent for review."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Annotated, Protocol

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from realtoros_contracts import TaskDue, TokenUsage
from realtoros_contracts.events import ComposerKind

SUBJECT_MAX = 200
BODY_MAX = 5000


def _one_line(value: str) -> str:
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        raise ValueError("the subject must be one line without control characters")
    return value


def flatten(text: str | None) -> str:
    """One line of text: whitespace runs become one space, control characters go."""
    printable = "".join(" " if ord(ch) < 32 or ord(ch) == 127 else ch for ch in text or "")
    return " ".join(printable.split())


class EmailDraft(BaseModel):
    """The JSON the LLM must answer with."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    subject: Annotated[str, Field(min_length=1, max_length=SUBJECT_MAX), AfterValidator(_one_line)]
    body: str = Field(min_length=1, max_length=BODY_MAX)


@dataclass(frozen=True)
class Draft:
    """A composed email and where it came from."""

    subject: str
    body: str
    composer: ComposerKind
    model: str | None = None
    usage: TokenUsage | None = None
    provider_request_id: str | None = None
    review_reasons: list[str] = field(default_factory=list)


class ComposeError(Exception):
    """The email could not be composed, for good: the CRM is told with ComposeFailed."""

    def __init__(self, reason: str, attempts: int) -> None:
        super().__init__(reason)
        self.reason = reason
        self.attempts = max(1, attempts)


class Composer(Protocol):
    async def compose(self, task: TaskDue) -> Draft: ...


# --- checks on an LLM draft ---------------------------------------------------------------

_PLACEHOLDER = re.compile(
    r"\[(?:your|client|agent|insert|name|address|date|phone)[^\]]{0,40}\]|\{\{?[a-z_ ]{1,40}\}?\}",
    re.IGNORECASE,
)
_AMOUNT = re.compile(r"[$€£]\s?\d[\d,.]*(?:\s?[kKmM]\b)?")
_CLOSING = re.compile(
    r"^(?:best|best regards|kind regards|warm regards|warmly|regards|sincerely|cheers|"
    r"all the best|talk soon|thanks|many thanks)[,.!]?$",
    re.IGNORECASE,
)


def strip_sign_off(body: str) -> str:
    """Drop a trailing sign-off ("Best regards,\\nJane"): the mailer adds the signature,
    so a model that signs anyway would sign twice."""
    lines = body.rstrip().splitlines()
    for back in range(1, min(4, len(lines)) + 1):
        if _CLOSING.match(lines[-back].strip()):
            kept = "\n".join(lines[:-back]).rstrip()
            return kept or body.strip()
    return body.strip()


def review_reasons(draft: EmailDraft, task: TaskDue) -> list[str]:
    """Why the agent should look at this draft before it goes out (empty: it is clean)."""
    text = f"{draft.subject}\n{draft.body}"
    reasons = []
    if _PLACEHOLDER.search(text):
        reasons.append("the draft contains an unfilled placeholder")
    context = " ".join(
        [
            task.client.notes or "",
            task.instructions or "",
            task.client.property_address or "",
            *task.client.custom_fields.values(),
            *(entry.summary for entry in task.timeline),
        ]
    )
    known = {_digits(m) for m in _AMOUNT.findall(context)}
    if any(_digits(m) not in known for m in _AMOUNT.findall(text)):
        reasons.append("the draft mentions an amount that is not in the client's data")
    return reasons


def _digits(amount: str) -> str:
    return re.sub(r"[^\d]", "", amount)
