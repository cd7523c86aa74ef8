"""Drafting with an OpenAI-compatible chat completions endpoint (the official SDK).

The SDK retries 429/5xx/timeouts itself (honouring Retry-After) with the client's
``max_retries``; what still fails after that fails for good and becomes a ComposeError.
Structured output is asked for as a strict JSON schema; a server that rejects it (400)
is asked for a JSON object, then for plain text, and the composer remembers the downgrade.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Literal

from openai import (
    APIConnectionError,
    APIError,
    APIStatusError,
    APITimeoutError,
    AsyncOpenAI,
    BadRequestError,
    UnprocessableEntityError,
    omit,
)
from openai.types.chat import ChatCompletion, completion_create_params
from openai.types.completion_usage import CompletionUsage
from pydantic import ValidationError

from realtoros_composer.drafts import (
    ComposeError,
    Draft,
    EmailDraft,
    flatten,
    review_reasons,
    strip_sign_off,
)
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


class LlmComposer:
    def __init__(
        self,
        client: AsyncOpenAI,
        *,
        model: str,
        structured_output: OutputFormat = "json_schema",
        max_concurrency: int = 64,
    ) -> None:
        self._client = client
        self._model = model
        self._formats = list(FALLBACKS[FALLBACKS.index(structured_output) :])
        self._semaphore = asyncio.Semaphore(max_concurrency)

    @property
    def output_format(self) -> OutputFormat:
        """The response_format in use (after any downgrade)."""
        return self._formats[0]

    async def compose(self, task: TaskDue) -> Draft:
        async with self._semaphore:
            return await self._compose(task)

    async def _compose(self, task: TaskDue) -> Draft:
        attempts, malformed_left = 0, MALFORMED_RETRIES
        usage: list[CompletionUsage] = []
        formats = list(self._formats)
        while True:
            fmt = formats[0]
            try:
                completion, tries = await self._request(task, fmt)
            except (BadRequestError, UnprocessableEntityError) as exc:
                attempts += _attempts(exc)
                if len(formats) == 1:
                    raise ComposeError(_reason(exc), attempts) from exc
                formats.pop(0)  # a server may reject an unknown response_format vaguely
                if _about_response_format(exc):
                    self._downgrade(fmt, exc)
                continue
            except APIError as exc:
                attempts += _attempts(exc)
                raise ComposeError(_reason(exc), attempts) from exc
            attempts += tries
            if completion.usage is not None:
                usage.append(completion.usage)
            try:
                return self._draft(task, completion, usage)
            except MalformedAnswer as exc:
                if malformed_left <= 0 or isinstance(exc, Refusal):
                    raise ComposeError(str(exc), attempts) from exc
                malformed_left -= 1
                log.warning("email %s: %s; asking again", task.email_id, exc)

    async def _request(self, task: TaskDue, fmt: OutputFormat) -> tuple[ChatCompletion, int]:
        raw = await self._client.chat.completions.with_raw_response.create(
            model=self._model,
            messages=messages(task),
            response_format=_response_format(fmt) or omit,
        )
        return raw.parse(), raw.retries_taken + 1

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

    def _draft(
        self, task: TaskDue, completion: ChatCompletion, usage: list[CompletionUsage]
    ) -> Draft:
        email = parse_answer(completion)
        email = email.model_copy(update={"body": strip_sign_off(email.body)})
        return Draft(
            subject=flatten(email.subject),
            body=email.body,
            composer="llm",
            model=completion.model or self._model,
            usage=_total_usage(usage),
            provider_request_id=completion._request_id,
            review_reasons=review_reasons(email, task),
        )


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


def _attempts(exc: APIError) -> int:
    """HTTP requests the SDK made for this call, its retries included."""
    try:
        return int(exc.request.headers.get("x-stainless-retry-count") or 0) + 1
    except (ValueError, AttributeError):
        return 1


def _reason(exc: APIError) -> str:
    tries = _attempts(exc)
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
