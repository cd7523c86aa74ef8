"""The composer sends the LLM exactly the request ``chat.completions.create`` would (it
posts the body itself, skipping the SDK's per-call transform of it)."""

from __future__ import annotations

import json
from typing import Any

import httpx2
from openai import AsyncAzureOpenAI, AsyncOpenAI, omit
from openai.types.chat import ChatCompletionMessageParam

from realtoros_composer.calls import LlmCaller

ANSWER = {
    "id": "chatcmpl-1",
    "object": "chat.completion",
    "created": 1,
    "model": "gpt-test",
    "choices": [
        {
            "index": 0,
            "finish_reason": "stop",
            "message": {"role": "assistant", "content": '{"subject": "Hi", "body": "Hello"}'},
        }
    ],
    "usage": {"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7},
}
MESSAGES: list[ChatCompletionMessageParam] = [
    {"role": "system", "content": "Write an email. «quotes», ünïcode"},
    {"role": "user", "content": "About 12 Elm St"},
]
JSON_SCHEMA = {
    "type": "json_schema",
    "json_schema": {"name": "email", "schema": {"type": "object"}, "strict": True},
}


def _client(seen: list[httpx2.Request], azure: bool) -> AsyncOpenAI:
    def answer(request: httpx2.Request) -> httpx2.Response:
        seen.append(request)
        return httpx2.Response(200, json=ANSWER, headers={"x-request-id": "req-1"})

    http = httpx2.AsyncClient(transport=httpx2.MockTransport(answer))
    if azure:  # routes by deployment: the URL is built from the body's model
        return AsyncAzureOpenAI(
            api_key="az-test",
            azure_endpoint="http://azure.test",
            api_version="2024-10-21",
            http_client=http,
        )
    return AsyncOpenAI(api_key="sk-test", base_url="http://llm.test/v1", http_client=http)


def _wire(request: httpx2.Request) -> tuple[str, str, dict[str, Any], str | None, str | None]:
    return (
        request.method,
        str(request.url),
        json.loads(request.content),
        request.headers.get("authorization"),
        request.headers.get("api-key"),
    )


async def test_the_request_is_the_one_create_sends() -> None:
    formats: tuple[Any, ...] = (JSON_SCHEMA, {"type": "json_object"}, omit)
    for azure, response_format in [(a, f) for a in (False, True) for f in formats]:
        seen: list[httpx2.Request] = []
        client = _client(seen, azure)
        await client.chat.completions.create(
            model="gpt-test", messages=MESSAGES, response_format=response_format
        )
        caller = LlmCaller(client, model="gpt-test", max_retries=0, max_concurrency=1)
        completion, tries = await caller.create(MESSAGES, response_format)
        assert tries == 1
        assert _wire(seen[1]) == _wire(seen[0])
        assert completion.choices[0].message.content == ANSWER["choices"][0]["message"]["content"]  # type: ignore[index]
        assert completion._request_id == "req-1"
        await client.close()
