"""The fake OpenAI-compatible server (``bench.fake_llm``: the benchmarks use it too), its
scripted behaviours, and the one way the tests launch it as its own process."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bench.fake_llm import (
    Behaviour,
    FakeLLM,
    answer,
    default_email,
    delayed,
    malformed,
    obedient_email,
    obey_injections,
    rate_limited,
    refuse,
    reject_formats,
    server_error,
    text,
)
from bench.processes import REPO

from tests.support.waiting import eventually_blocking

__all__ = [
    "Behaviour",
    "FakeLLM",
    "answer",
    "default_email",
    "delayed",
    "launched",
    "malformed",
    "obedient_email",
    "obey_injections",
    "rate_limited",
    "refuse",
    "reject_formats",
    "server_error",
    "text",
]


@contextmanager
def launched(log_dir: Path, *, latency: float = 0.0) -> Iterator[str]:
    """``python -m bench.fake_llm`` as its own process, its output in
    ``log_dir/fake-llm-<pid>.log``; yields its root URL once it says it is ready (the
    OpenAI base URL is that plus ``/v1``; ``/_script``, ``/_requests`` script it)."""
    command = [sys.executable, "-m", "bench.fake_llm", "--port", "0", "--latency", str(latency)]
    log_path = log_dir / f"fake-llm-{len(list(log_dir.glob('fake-llm-*.log')))}.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(command, cwd=REPO, stdout=log, stderr=subprocess.STDOUT)
    try:

        def ready() -> str | None:
            if proc.poll() is not None:
                raise RuntimeError(f"the fake LLM exited with {proc.returncode}: {log_path}")
            lines = log_path.read_text(errors="replace").splitlines()
            ready_at = (ln.split(" ", 1)[1] for ln in lines if ln.startswith("ready "))
            return next(ready_at, "").removesuffix("/v1") or None

        yield eventually_blocking(ready, timeout=60, interval=0.05, what="the fake LLM ready")
    finally:
        proc.terminate()
        proc.wait(10)
