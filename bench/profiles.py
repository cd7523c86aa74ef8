"""py-spy on the services while they work, summarised to the frames where the time goes."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any


def py_spy() -> str | None:
    candidate = Path(sys.executable).parent / "py-spy"
    return str(candidate) if candidate.exists() else shutil.which("py-spy")


class Recorder:
    """``py-spy record --format raw`` (collapsed stacks) of each pid until ``stop()``."""

    def __init__(self, pids: dict[str, int], out_dir: Path, label: str, rate: int = 67) -> None:
        self.out_dir = out_dir
        self.files: dict[str, Path] = {}
        self.procs: list[subprocess.Popen[bytes]] = []
        binary = py_spy()
        if binary is None:
            return
        out_dir.mkdir(parents=True, exist_ok=True)
        for name, pid in pids.items():
            path = out_dir / f"{label}-{name}.txt"
            self.files[name] = path
            self.procs.append(
                subprocess.Popen(
                    [
                        binary,
                        "record",
                        "--pid",
                        str(pid),
                        "--rate",
                        str(rate),
                        "--format",
                        "raw",
                        "--nonblocking",
                        "--output",
                        str(path),
                    ],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )

    def stop(self) -> dict[str, dict[str, Any]]:
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
        for proc in self.procs:
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
        return {name: summarise(path) for name, path in self.files.items() if path.exists()}


def _short(frame: str) -> str:
    # py-spy raw frames: "function (path/to/module.py:line)"
    name, _, where = frame.partition(" (")
    where = where.rstrip(")")
    parts = where.split("/")
    tail = "/".join(parts[-2:]) if len(parts) > 1 else where
    return f"{name} ({tail})"


# Frames that mean "waiting", not working: py-spy's idle detection is imprecise on a
# loaded machine, so they are left out of the own-time list.
IDLE = ("Condition.wait (", "Runner.run (", "select (", "_run_once (", "poll (")


def summarise(path: Path, top: int = 12) -> dict[str, Any]:
    """Top frames by own samples (waiting frames left out) and by inclusive samples, the
    latter also restricted to RealtorOS's own code (``top_inclusive_app``)."""
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    idle = 0
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [f for f in stack.split(";") if f and not f.startswith("process ")]
        frames = [f for f in frames if not f.startswith("thread ")]
        if not frames:
            continue
        total += count
        leaf = _short(frames[-1])
        if leaf.startswith(IDLE):
            idle += count
            continue
        own[leaf] += count
        for frame in set(map(_short, frames)):
            inclusive[frame] += count
    return {
        "samples": total,
        "file": str(path),
        "top_own": [(f, round(100 * c / max(total, 1), 1)) for f, c in own.most_common(top)],
        "idle_percent": round(100 * idle / max(total, 1), 1),
        "top_inclusive": [
            (f, round(100 * c / max(total, 1), 1)) for f, c in inclusive.most_common(top * 2)
        ],
        "top_inclusive_app": [
            (f, round(100 * c / max(total, 1), 1))
            for f, c in inclusive.most_common()
            if "realtoros_" in f and "__main__" not in f and "main.py" not in f
        ][:top],
    }
