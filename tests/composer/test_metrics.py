"""GET /metrics on the composer's app: tokens, latency, requests by outcome, emails."""

from __future__ import annotations

import re

import httpx

from realtoros_contracts import ComposeFailed, EmailComposed
from tests.composer.conftest import ComposerFactory, Harness
from tests.support.fake_llm import FakeLLM, answer, server_error
from tests.support.samples import task_due

BODY = (
    "Hi Maria,\n\nI hope your week is going well. I have been thinking about 12 Oak Street "
    "and the schools nearby.\n\nWould you like to visit on Saturday morning?"
)
USAGE = {"prompt_tokens": 321, "completion_tokens": 87, "cached_tokens": 256}


async def scrape(harness: Harness) -> str:
    transport = httpx.ASGITransport(app=harness.service.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://composer") as http:
        response = await http.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return response.text


def sample(text: str, name: str, **labels: str) -> float:
    for line in text.splitlines():
        match = re.match(rf"^{name}\{{(.*)\}} (\S+)$", line)
        if match and all(f'{k}="{v}"' in match.group(1) for k, v in labels.items()):
            return float(match.group(2))
    raise AssertionError(f"no sample {name} {labels}")


async def test_metrics_after_a_composition(
    start_composer: ComposerFactory, fake_llm: FakeLLM
) -> None:
    fake_llm.script([server_error(500, retry_after_ms=5), answer("Schools", BODY, usage=USAGE)])
    harness = await start_composer(openai_model="metrics-model")
    await harness.publish_task(task_due())
    await harness.wait_for(EmailComposed)

    text = await scrape(harness)
    tokens = "realtoros_composer_llm_tokens_total"
    assert sample(text, tokens, model="metrics-model", kind="prompt") == 321
    assert sample(text, tokens, model="metrics-model", kind="completion") == 87
    assert sample(text, tokens, model="metrics-model", kind="cached") == 256
    requests = "realtoros_composer_llm_requests_total"
    assert sample(text, requests, model="metrics-model", outcome="ok") == 1
    assert sample(text, requests, model="metrics-model", outcome="server_error") == 1
    latency = "realtoros_composer_llm_request_seconds_count"
    assert sample(text, latency, model="metrics-model") == 2
    composed = "realtoros_composer_emails_composed_total"
    assert sample(text, composed, composer="llm", model="metrics-model", needs_review="false") == 1


async def test_metrics_count_failed_emails(
    start_composer: ComposerFactory, fake_llm: FakeLLM
) -> None:
    fake_llm.script([], default=server_error(503, retry_after_ms=5))
    harness = await start_composer(openai_model="failing-model", llm_max_retries=0)
    await harness.publish_task(task_due())
    await harness.wait_for(ComposeFailed)

    text = await scrape(harness)
    assert sample(text, "realtoros_composer_emails_failed_total", model="failing-model") == 1
    assert "test-key" not in text
