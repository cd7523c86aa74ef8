"""What a composer produces and how an LLM answer is validated (the checks on its content
are in ``checks``)."""

from __future__ import annotations

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

    def __init__(self, reason: str, attempts: int, *, model: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.attempts = max(1, attempts)
        self.model = model


class Composer(Protocol):
    async def compose(self, task: TaskDue) -> Draft: ...
