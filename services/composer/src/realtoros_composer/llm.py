"""Drafting with an OpenAI-compatible chat completions endpoint (the official SDK).

The call itself (limits, retries, metrics) is ``calls.LlmCaller``; what still fails after
its retries fails for good and becomes a ComposeError.
Structured output is asked for as a strict JSON schema; a server that rejects it (400)
is asked for a JSON object, then for plain text, and the composer remembers the downgrade.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import Literal

from openai import (
    APIConnectionError,
    APIError,
    APIStatusError,
    APITimeoutError,
    BadRequestError,
    UnprocessableEntityError,
    omit,
)
from openai.types.chat import ChatCompletion, completion_create_params
from openai.types.completion_usage import CompletionUsage
from pydantic import ValidationError

from realtoros_composer.calls import LlmCaller, LlmCallError
from realtoros_composer.checks import check, sanitize
from realtoros_composer.drafts import ComposeError, Draft, EmailDraft, flatten
from realtoros_composer.metrics import ComposerMetrics
from realtoros_composer.prompt import EMAIL_JSON_SCHEMA, messages
from realtoros_contracts import TaskDue, TokenUsage

log = logging.getLogger(__name__)

OutputFormat = Literal["json_schema", "json_object", "text"]
FALLBACKS: tuple[OutputFormat, ...] = ("json_schema", "json_object", "text")
MALFORMED_RETRIES = 1
"""A model that answers with something that is not the email JSON gets one more try."""


class MalformedAnswer(ValueError):
    """The model answered, but not with a usable email."""


class Refusal(MalformedAnswer):
    """The model declined to write the email; asking again would not change its mind."""


@dataclass
class _Answer:
    """One usable answer of the model, cleaned, with what it cost."""

    subject: str
    body: str
    removed: list[str]
    completion: ChatCompletion


class LlmComposer:
    """Drafts with the LLM; a draft that fails the checks is asked for once more with the
    reasons, and published for review (with the reasons) if it fails them again."""

    def __init__(
        self,
        caller: LlmCaller,
        *,
        structured_output: OutputFormat = "json_schema",
        metrics: ComposerMetrics | None = None,
    ) -> None:
        self._caller = caller
        self._model = caller.model
        self._formats = list(FALLBACKS[FALLBACKS.index(structured_output) :])
        self._metrics = metrics or ComposerMetrics()

    @property
    def output_format(self) -> OutputFormat:
        """The response_format in use (after any downgrade)."""
        return self._formats[0]

    async def compose(self, task: TaskDue) -> Draft:
        attempts = _Tally()
        answer = await self._answer(task, attempts, feedback=None)
        reasons = answer.removed + check(answer.subject, answer.body, task)
        if reasons:
            log.info(
                "email %s: draft failed its checks (%s); asking again",
                task.email_id,
                "; ".join(reasons),
            )
            try:
                second = await self._answer(task, attempts, feedback=reasons)
            except ComposeError as exc:  # the first draft still goes to the agent
                log.warning("email %s: no second draft (%s)", task.email_id, exc.reason)
            else:
                answer = second
                reasons = second.removed + check(second.subject, second.body, task)
        usage = _total_usage(attempts.usage)
        return Draft(
            subject=flatten(answer.subject),
            body=answer.body,
            composer="llm",
            model=answer.completion.model or self._model,
            usage=usage,
            provider_request_id=answer.completion._request_id,
            review_reasons=reasons,
        )

    async def _answer(self, task: TaskDue, tally: _Tally, feedback: list[str] | None) -> _Answer:
        malformed_left = MALFORMED_RETRIES
        while True:
            completion = await self._complete(task, tally, feedback)
            try:
                email = parse_answer(completion)
            except MalformedAnswer as exc:
                if malformed_left <= 0 or isinstance(exc, Refusal):
                    raise ComposeError(str(exc), tally.requests, model=self._model) from exc
                malformed_left -= 1
                log.warning("email %s: %s; asking again", task.email_id, exc)
                continue
            cleaned = sanitize(email.subject, email.body, task)
            return _Answer(cleaned.subject, cleaned.body, cleaned.reasons, completion)

    async def _complete(
        self, task: TaskDue, tally: _Tally, feedback: list[str] | None
    ) -> ChatCompletion:
        formats = list(self._formats)
        while True:
            fmt = formats[0]
            try:
                completion, tries = await self._caller.create(
                    messages(task, feedback), _response_format(fmt) or omit
                )
            except LlmCallError as failed:
                tally.requests += failed.attempts
                exc = failed.error
                if (
                    not isinstance(exc, BadRequestError | UnprocessableEntityError)
                    or len(formats) == 1
                ):
                    raise ComposeError(
                        _reason(exc, failed.attempts), tally.requests, model=self._model
                    ) from exc
                formats.pop(0)  # a server may reject an unknown response_format vaguely
                if _about_response_format(exc):
                    self._downgrade(fmt, exc)
                continue
            tally.requests += tries
            if completion.usage is not None:
                tally.usage.append(completion.usage)
                self._metrics.usage(self._model, _total_usage([completion.usage]))
            return completion

    def _downgrade(self, fmt: OutputFormat, exc: APIStatusError) -> None:
        if self._formats[0] == fmt and len(self._formats) > 1:
            self._formats.pop(0)
            log.warning(
                "the LLM endpoint rejected response_format %s (HTTP %d: %s); using %s from now on",
                fmt,
                exc.status_code,
                _short(exc.message),
                self._formats[0],
            )


@dataclass
class _Tally:
    requests: int = 0
    usage: list[CompletionUsage] = field(default_factory=list)


def _about_response_format(exc: APIStatusError) -> bool:
    """Whether a 400 is about the response_format (then every later call would get it too)."""
    message = exc.message.lower()
    return exc.param == "response_format" or any(
        word in message for word in ("response_format", "json_schema", "json_object")
    )


def _response_format(fmt: OutputFormat) -> completion_create_params.ResponseFormat | None:
    if fmt == "json_schema":
        return {
            "type": "json_schema",
            "json_schema": {"name": "email", "strict": True, "schema": EMAIL_JSON_SCHEMA},
        }
    if fmt == "json_object":
        return {"type": "json_object"}
    return None


def parse_answer(completion: ChatCompletion) -> EmailDraft:
    """The email in the model's answer, or :class:`MalformedAnswer` saying what is wrong."""
    if not completion.choices:
        raise MalformedAnswer("the model's answer has no choices")
    message = completion.choices[0].message
    if message.refusal:
        raise Refusal(f"the model refused: {_short(message.refusal)}")
    content = (message.content or "").strip()
    if not content:
        raise MalformedAnswer("the model's answer is empty")
    try:
        return EmailDraft.model_validate(_json_object(content))
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'answer'}: {e['msg']}" for e in exc.errors()
        )
        raise MalformedAnswer(f"the model's answer is not a valid email: {problems}") from exc


def _json_object(content: str) -> object:
    """Parse the JSON object in an answer, tolerating Markdown fences or text around it
    (servers without structured output often add them)."""
    try:
        return json.loads(content)
    except json.JSONDecodeError:
        start, end = content.find("{"), content.rfind("}")
        if 0 <= start < end:
            try:
                return json.loads(content[start : end + 1])
            except json.JSONDecodeError:
                pass
    raise MalformedAnswer(f"the model's answer is not JSON: {_short(content, 120)!r}")


def _total_usage(usage: list[CompletionUsage]) -> TokenUsage | None:
    if not usage:
        return None
    return TokenUsage(
        prompt_tokens=sum(u.prompt_tokens for u in usage),
        completion_tokens=sum(u.completion_tokens for u in usage),
        cached_tokens=sum(
            (u.prompt_tokens_details.cached_tokens or 0) if u.prompt_tokens_details else 0
            for u in usage
        ),
    )


def _reason(exc: APIError, tries: int) -> str:
    after = f"after {tries} attempt{'s' if tries > 1 else ''}"
    if isinstance(exc, APITimeoutError):
        return f"the LLM did not answer in time ({after})"
    if isinstance(exc, APIConnectionError):
        return f"could not reach the LLM endpoint ({after}): {_short(str(exc.__cause__ or exc))}"
    if isinstance(exc, APIStatusError):
        request_id = f", request {exc.request_id}" if exc.request_id else ""
        return (
            f"the LLM answered HTTP {exc.status_code} ({after}{request_id}): {_short(exc.message)}"
        )
    return f"the LLM call failed ({after}): {_short(str(exc))}"


def _short(text: str, limit: int = 500) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
