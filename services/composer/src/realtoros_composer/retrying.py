"""When to retry an LLM call, and after how long.

The composer makes the retries itself (the SDK's are switched off) so that it can honour
every hint a provider gives and release its concurrency slot while it waits. The SDK
honours ``retry-after-ms``, ``retry-after`` (seconds or an HTTP date, up to 120 s) and
``x-should-retry`` (``_base_client.py``: ``_parse_retry_after_header``, ``_should_retry``);
it does not read OpenAI's and Azure's ``x-ratelimit-reset-requests`` /
``x-ratelimit-reset-tokens`` ("1s", "6m0s", "20ms"), which a 429 may carry without a
Retry-After. Here all of them are honoured; without a hint the delay is exponential with
jitter. A server asking for more than ``MAX_SERVER_DELAY`` is not retried.
"""

from __future__ import annotations

import email.utils
import random
import re
import time
from collections.abc import Mapping

from openai import APIConnectionError, APIError, APIStatusError, APITimeoutError

BASE_DELAY = 0.5
MAX_DELAY = 8.0
MAX_SERVER_DELAY = 120.0
RETRYABLE_STATUS = frozenset({408, 409, 429})
_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|h|m|s)")
_UNITS = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}


def parse_duration(value: str) -> float | None:
    """'6m0s' → 360, '20ms' → 0.02, '1.5' → 1.5; None when it is not a duration."""
    value = value.strip().lower()
    try:
        return float(value)
    except ValueError:
        pass
    parts = _DURATION.findall(value)
    if not parts or "".join(n + u for n, u in parts) != value:
        return None
    return sum(float(number) * _UNITS[unit] for number, unit in parts)


def _retry_after(headers: Mapping[str, str]) -> float | None:
    if (ms := headers.get("retry-after-ms")) is not None:
        try:
            return float(ms) / 1000
        except ValueError:
            pass
    if (value := headers.get("retry-after")) is None:
        return None
    try:
        return float(value)
    except ValueError:
        parsed = email.utils.parsedate_tz(value)
        return None if parsed is None else email.utils.mktime_tz(parsed) - time.time()


def _ratelimit_reset(headers: Mapping[str, str]) -> float | None:
    """The reset time of the exhausted limit (requests or tokens); of both when neither
    says it is exhausted."""
    resets: dict[str, float] = {}
    for kind in ("requests", "tokens"):
        raw = headers.get(f"x-ratelimit-reset-{kind}")
        if raw is not None and (seconds := parse_duration(raw)) is not None:
            resets[kind] = seconds
    exhausted = [s for k, s in resets.items() if headers.get(f"x-ratelimit-remaining-{k}") == "0"]
    chosen = exhausted or list(resets.values())
    return max(chosen) if chosen else None


def server_delay(headers: Mapping[str, str], status: int) -> float | None:
    """The wait the server asked for, if any."""
    delay = _retry_after(headers)
    if delay is None and status == 429:
        delay = _ratelimit_reset(headers)
    return None if delay is None else max(0.0, delay)


def backoff(attempt: int) -> float:
    """Exponential with jitter: attempt 1 → 0.25-0.5 s, 2 → 0.5-1 s, … up to 8 s."""
    ceiling = min(MAX_DELAY, BASE_DELAY * 2 ** max(0, attempt - 1))
    return random.uniform(ceiling / 2, ceiling)


def retry_delay(exc: APIError, attempt: int) -> float | None:
    """How long to wait before the next attempt after this error; None: do not retry."""
    if isinstance(exc, APITimeoutError | APIConnectionError):
        return backoff(attempt)
    if not isinstance(exc, APIStatusError):
        return None
    headers = exc.response.headers
    should = headers.get("x-should-retry")
    status = exc.status_code
    if should == "false" or (should != "true" and status not in RETRYABLE_STATUS and status < 500):
        return None
    wanted = server_delay(headers, status)
    if wanted is None:
        return backoff(attempt)
    if wanted > MAX_SERVER_DELAY:
        return None
    return wanted * random.uniform(1.0, 1.1)  # a little jitter: waiters do not all return at once
