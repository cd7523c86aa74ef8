"""Faults and cost: retries that honour what the server asks, rate limits, a bounded number
of attempts, the template fallback, and one failing email never holding the others back."""

from __future__ import annotations

import pytest
from nats.aio.client import Client as NatsClient

from realtoros_composer.handlers import FALLBACK_REASON
from realtoros_composer.limiter import RateLimiter
from realtoros_composer.retrying import MAX_SERVER_DELAY, parse_duration, server_delay
from realtoros_contracts import ComposeFailed, EmailComposed, Namespace
from tests.composer.conftest import ComposerFactory
from tests.support.fake_llm import FakeLLM, rate_limited, server_error
from tests.support.samples import task_due


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("1s", 1.0), ("6m0s", 360.0), ("20ms", 0.02), ("1h2m3.5s", 3723.5), ("1.5", 1.5)],
)
def test_ratelimit_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


def test_bad_durations_are_ignored() -> None:
    assert parse_duration("soon") is None
    assert parse_duration("1x") is None


def test_which_server_hint_wins() -> None:
    assert server_delay({"retry-after-ms": "250", "retry-after": "9"}, 429) == 0.25
    assert server_delay({"retry-after": "2"}, 503) == 2.0
    # a 429 without Retry-After: the reset of the exhausted limit
    reset = {
        "x-ratelimit-reset-requests": "2s",
        "x-ratelimit-remaining-requests": "0",
        "x-ratelimit-reset-tokens": "30s",
        "x-ratelimit-remaining-tokens": "900",
    }
    assert server_delay(reset, 429) == 2.0
    assert server_delay({**reset, "x-ratelimit-remaining-tokens": "0"}, 429) == 30.0
    assert server_delay(reset, 500) is None  # on other statuses they describe, not ask
    assert server_delay({}, 429) is None


async def test_the_limiter_spaces_requests_and_charges_real_usage(
    namespace: Namespace, nats_client: NatsClient
) -> None:
    now = [1000.0]
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    js = nats_client.jetstream()
    requests = RateLimiter(rpm=120, tpm=0, clock=lambda: now[0], sleep=sleep)
    await requests.open(js, namespace)
    for _ in range(4):  # 2 per second, a burst of 2
        await requests.acquire(10)
    # (the waits carry up to 50 % jitter, so replicas do not race for the same refill)
    assert len(slept) == 2
    assert sum(slept) >= 1.0 - 1e-6, slept
    slept.clear()
    # tokens: 100 a second, a burst of 100; a call estimated at 50 that used 150 leaves a
    # debt of 100 paid at the next call: 50 + 100 tokens wait for a full bucket (0.5 s)
    # and leave it 50 in debt, which the call after waits out
    tokens = RateLimiter(rpm=0, tpm=6000, clock=lambda: now[0], sleep=sleep)
    await tokens.open(js, namespace)
    await tokens.acquire(50)
    tokens.settle(50, 150)
    await tokens.acquire(50)
    assert sum(slept) >= 0.5
    slept.clear()
    await tokens.acquire(10)
    assert sum(slept) >= 0.6
    slept.clear()
    tokens.settle(50, 10)  # a call that used less than estimated gives tokens back
    await tokens.acquire(40)
    assert slept == []


@pytest.mark.parametrize(
    ("rpm", "tpm", "tokens"),
    [
        # 9 requests at 1 a second with a burst of 1: 8 seconds at least, whoever asks.
        pytest.param(60, 0, 10, id="requests_per_minute"),
        # 6,000 tokens a minute: 100 a second, a burst of 100, for the account, not per
        # replica. 9 calls of 100 tokens: 900 tokens at 100 a second after the first burst
        # of 100 (8 s); three replicas each with a bucket of their own would have taken 2 s.
        pytest.param(0, 6000, 100, id="tokens_per_minute"),
    ],
)
async def test_replicas_share_the_account_limit(
    namespace: Namespace, nats_client: NatsClient, rpm: int, tpm: int, tokens: int
) -> None:
    now = [1000.0]

    async def sleep(seconds: float) -> None:
        now[0] += seconds

    js = nats_client.jetstream()
    replicas = [RateLimiter(rpm=rpm, tpm=tpm, clock=lambda: now[0], sleep=sleep) for _ in range(3)]
    for limiter in replicas:
        await limiter.open(js, namespace)
    for _ in range(3):
        for limiter in replicas:
            await limiter.acquire(tokens)
    assert now[0] - 1000.0 >= 8.0


async def test_a_429_with_only_a_ratelimit_reset_header_is_honoured(
    start_composer: ComposerFactory, fake_llm: FakeLLM
) -> None:
    hint = {"x-ratelimit-reset-requests": "1s", "x-ratelimit-remaining-requests": "0"}
    fake_llm.script([rate_limited(retry_after=None, ratelimit_headers=hint)])
    harness = await start_composer()
    await harness.publish_task(task_due())

    await harness.wait_for(EmailComposed)
    first, second = fake_llm.requests
    assert first["status"] == 429
    assert second["received_at"] - first["received_at"] >= 0.95  # our own backoff is ≤ 0.5 s


async def test_a_retry_after_beyond_the_maximum_is_not_waited_for(
    start_composer: ComposerFactory, fake_llm: FakeLLM
) -> None:
    fake_llm.script([rate_limited(retry_after=MAX_SERVER_DELAY + 1)])
    harness = await start_composer()
    await harness.publish_task(task_due())

    [failed] = await harness.wait_for(ComposeFailed)
    assert "HTTP 429" in failed.reason
    assert failed.attempts == 1


async def test_one_failing_email_does_not_hold_the_others_back(
    start_composer: ComposerFactory, fake_llm: FakeLLM
) -> None:
    # one LLM slot: if waiting to retry held it, the good ones would wait 2 s behind it
    fake_llm.for_client("Broken Client", server_error(500, retry_after_ms=2000))
    harness = await start_composer(llm_max_concurrency=1, llm_max_retries=1)
    broken = task_due().client.model_copy(update={"name": "Broken Client"})
    await harness.publish_task(task_due(client=broken))
    for _ in range(5):
        await harness.publish_task(task_due())

    [failed] = await harness.wait_for(ComposeFailed, timeout=20)
    assert failed.attempts == 2
    events = [p.event for p in await harness.composer_events()]
    # the five good ones were published while the broken one was still waiting to retry
    assert [type(e) for e in events] == [EmailComposed] * 5 + [ComposeFailed]


async def test_with_the_fallback_an_unavailable_llm_yields_a_template_for_review(
    start_composer: ComposerFactory, fake_llm: FakeLLM
) -> None:
    fake_llm.script([], default=server_error(503, retry_after_ms=5))
    harness = await start_composer(composer_fallback_to_template=True, llm_max_retries=1)
    await harness.publish_task(task_due())

    [composed] = await harness.wait_for(EmailComposed)
    assert composed.composer == "template"
    assert composed.needs_review is True
    assert composed.review_reasons[0] == FALLBACK_REASON
    assert "HTTP 503" in composed.review_reasons[1]
    assert len(fake_llm.requests) == 2


async def test_requests_per_minute_are_honoured(
    start_composer: ComposerFactory, fake_llm: FakeLLM
) -> None:
    harness = await start_composer(llm_rpm=120)  # 2 a second, a burst of 2
    for _ in range(5):
        await harness.publish_task(task_due())

    await harness.wait_for(EmailComposed, count=5)
    times = sorted(r["received_at"] for r in fake_llm.requests)
    assert times[-1] - times[0] >= 1.4  # 3 waits of 0.5 s after the burst
