"""Measure committed code, not a working tree that others are editing right now:
``git archive <rev> libs services`` into a temp dir, and the services and this process
import from there (PYTHONPATH comes before the venv's editable installs)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.machine import REPO

ENV = "REALTOROS_BENCH_SNAPSHOT"


def active() -> str | None:
    return os.environ.get(ENV)


def remove() -> None:
    if folder := os.environ.get(f"{ENV}_DIR"):
        shutil.rmtree(folder, ignore_errors=True)


def reexec_from(rev: str) -> None:
    """Export ``rev`` and run ``python -m bench`` again on it (never returns)."""
    sha = subprocess.run(
        ["git", "rev-parse", rev], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout.strip()
    root = Path(tempfile.mkdtemp(prefix=f"realtoros-bench-src-{sha[:8]}-"))
    archive = subprocess.run(
        ["git", "archive", sha, "libs", "services"], cwd=REPO, capture_output=True, check=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(root)], input=archive, check=True)
    paths = sorted(str(p) for p in root.glob("*/*/src"))
    env = {
        **os.environ,
        ENV: sha,
        f"{ENV}_DIR": str(root),
        "PYTHONPATH": os.pathsep.join([*paths, str(REPO)]),
    }
    os.execve(sys.executable, [sys.executable, "-m", "bench", *sys.argv[1:]], env)
