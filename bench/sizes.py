"""How big each benchmark is: --smoke (a minute, to check the harness), --quick (the
default, minutes on a 2-core machine shared with others) and --full (the brief's sizes)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Sizes:
    name: str
    throughput_n: int
    profile_n: int
    latency_rate: float
    latency_seconds: float
    llm_n: int
    llm_latency_s: float
    api_clients: int
    api_seconds: float
    claim_rows: tuple[int, ...]
    claim_reps: int
    peer_worker_concurrency: int


SMOKE = Sizes("smoke", 300, 200, 50.0, 5.0, 200, 2.0, 5_000, 3.0, (10_000, 50_000), 3, 4)
QUICK = Sizes("quick", 1_000, 500, 100.0, 10.0, 600, 2.0, 100_000, 10.0, (10_000, 1_000_000), 5, 4)
FULL = Sizes(
    "full", 20_000, 3_000, 100.0, 60.0, 4_000, 2.0, 100_000, 30.0, (10_000, 1_000_000), 10, 4
)
