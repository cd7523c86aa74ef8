"""Start-up while JetStream has no leader: retried with backoff, then one clear line."""

from __future__ import annotations

import pytest
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js.errors import BadRequestError, NotFoundError, ServiceUnavailableError

from realtoros_runtime.jetstream_ready import JetStreamUnavailable, with_backoff


async def test_not_now_is_retried_until_jetstream_answers() -> None:
    answers: list[Exception | str] = [NatsTimeoutError(), ServiceUnavailableError(), "ok"]

    async def call() -> str:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    assert await with_backoff(call, "the streams", first=0.01) == "ok"
    assert answers == []


async def test_it_gives_up_with_one_line_naming_what() -> None:
    async def call() -> None:
        raise NatsTimeoutError

    with pytest.raises(JetStreamUnavailable, match=r"JetStream: consumer S/d still unavailable"):
        await with_backoff(call, "consumer S/d", first=0.01, most=0.02, patience=0.2)


async def test_a_real_error_is_not_retried() -> None:
    calls = 0

    async def call() -> None:
        nonlocal calls
        calls += 1
        raise BadRequestError(description="invalid config")

    with pytest.raises(BadRequestError):
        await with_backoff(call, "the streams", first=0.01, also=(NotFoundError,))
    assert calls == 1
