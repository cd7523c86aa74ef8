"""CPU seconds and resident memory of the processes under test, from psutil (/proc).

A process's CPU is its own user+system time plus that of its children, live or reaped:
PostgreSQL's backends come and go, and the postmaster's ``children_*`` times keep the
ones it has reaped.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import psutil

TICKS = os.sysconf("SC_CLK_TCK")


def tree_cpu_seconds(pid: int) -> float:
    """CPU seconds of ``pid`` and all its descendants (reaped ones included)."""
    try:
        root = psutil.Process(pid)
        times = root.cpu_times()
        total = times.user + times.system + times.children_user + times.children_system
        for child in root.children(recursive=True):
            try:
                ct = child.cpu_times()
                total += ct.user + ct.system
            except psutil.NoSuchProcess:
                continue
        return total
    except psutil.NoSuchProcess:
        return 0.0


def rss_mb(pid: int) -> float:
    try:
        return psutil.Process(pid).memory_info().rss / 1_048_576
    except psutil.NoSuchProcess:
        return 0.0


@dataclass
class CpuMeter:
    """Snapshots the CPU of named process trees; ``delta()`` is the CPU since ``start()``."""

    pids: dict[str, int]
    _start: dict[str, float] = field(default_factory=dict)

    def start(self) -> CpuMeter:
        self._start = {name: tree_cpu_seconds(pid) for name, pid in self.pids.items()}
        return self

    def delta(self) -> dict[str, float]:
        return {
            name: round(tree_cpu_seconds(pid) - self._start.get(name, 0.0), 3)
            for name, pid in self.pids.items()
        }


def load_average() -> tuple[float, float, float]:
    return os.getloadavg()
