"""The code is ruff- and mypy-clean (strict, pydantic plugin): part of the suite so CI
fails on a lint error like on any other broken behaviour."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=REPO, capture_output=True, text=True, timeout=600)


def test_ruff_check_is_clean() -> None:
    done = run(str(BIN / "ruff"), "check", ".")
    assert done.returncode == 0, done.stdout + done.stderr


def test_ruff_format_is_clean() -> None:
    done = run(str(BIN / "ruff"), "format", "--check", ".")
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.timeout(600)
def test_mypy_strict_is_clean() -> None:
    done = run(str(BIN / "mypy"), "libs", "services", "tests", "bench")
    assert done.returncode == 0, done.stdout + done.stderr
