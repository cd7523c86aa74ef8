"""The capacity plan of a brokerage: how many follow-ups fall due in its busiest minute
(with and without spreading), how many replicas of each service, how much SES send rate
and LLM throughput, and how much PostgreSQL and JetStream storage a month takes.

Every constant below is a measurement (docs/benchmarks.md, NOTES of 2026-12-02: 40
follow-ups/s for 30 minutes on 2 cores) or a setting of deploy/k8s; docs/capacity.md
explains the model. ``python -m bench.capacity`` prints the three worked examples;
``python -m bench.capacity --agents 120 --clients-per-agent 400 --zones America/Chicago``
one brokerage of your own (``--help`` lists every input).
"""

from __future__ import annotations

import argparse
import math
from dataclasses import dataclass

# CPU per follow-up, in ms, at a steady low rate (the higher of the two measurements:
# per-message overhead dominates small batches), by process.
CPU_MS = {"mailer": 5.4, "crm": 4.7, "composer": 3.6, "postgres": 2.4, "nats": 1.9}
# CPU limit of one replica (deploy/k8s/base/*/deployment.yaml), and the share of it a
# replica is planned at (headroom for bursts and GC).
CPU_LIMIT = {"crm": 1.0, "composer": 0.5, "mailer": 0.5}
PLANNED_UTILISATION = 0.6
MIN_REPLICAS = {"crm": 2, "composer": 2, "mailer": 2, "scheduler": 2}
LLM_SLOTS_PER_COMPOSER = 256  # LLM_MAX_CONCURRENCY
# Storage per follow-up, in KB (measured: per 10,000 follow-ups PostgreSQL grew 50 MB —
# outbox 19.4, emails 7.3, activities 5.8, inbox 4.3, tasks 3.5 — and JetStream 37 MB).
PG_KEPT_KB = (7.3 + 5.8 + 3.5) * 1000 / 10_000  # emails, activities, tasks: kept for good
OUTBOX_KB, INBOX_KB = 19.4 * 1000 / 10_000, 4.3 * 1000 / 10_000
JETSTREAM_KB = 37 * 1000 / 10_000
OUTBOX_DAYS, INBOX_DAYS, STREAM_DAYS = 1, 8, 7  # the pruner's and the streams' horizons
SENDING_DAYS_PER_MONTH = 21.7  # Monday to Friday
TOKENS_PER_EMAIL = 1_300  # prompt (client, timeline, agent) + the email; composer metrics


@dataclass(frozen=True)
class Plan:
    """A follow-up plan: the share of clients on it and its emails per client per month."""

    name: str
    share: float
    emails_per_month: float


@dataclass(frozen=True)
class Brokerage:
    name: str
    agents: int
    clients_per_agent: int
    plans: tuple[Plan, ...]
    zones: dict[str, float]  # share of agents per time zone; zones an hour apart or more
    llm_latency_s: float = 4.0
    ses_max_send_rate: float = 14.0
    spread_minutes: float = 120.0  # SPREAD_MINUTES: the part of the window steps spread over
    jetstream_replicas: int = 3


@dataclass(frozen=True)
class CapacityPlan:
    """The computed plan (kept flat so it prints as a table)."""

    follow_ups_per_month: float
    follow_ups_per_sending_day: float
    peak_per_minute_unspread: float
    peak_per_minute_spread: float
    replicas: dict[str, int]
    replicas_unspread: dict[str, int]
    """Unspread, the mailers work through the 10:00 burst at the SES quota."""
    ses_rate_needed_unspread: float
    ses_rate_needed_spread: float
    burst_drain_minutes_at_quota: float
    llm_rpm: float
    llm_tpm: float
    llm_in_flight: float
    postgres_gb_per_month: float
    postgres_gb_steady_bookkeeping: float
    jetstream_gb: float
    cores: float


def replicas_for(per_second: float, llm_latency_s: float) -> dict[str, int]:
    """Replicas of each service for ``per_second`` follow-ups: CPU at the planned share of
    each replica's limit; the composer also by its LLM calls in flight."""
    replicas = {
        service: max(
            MIN_REPLICAS[service],
            math.ceil(per_second * CPU_MS[service] / 1000 / (limit * PLANNED_UTILISATION)),
        )
        for service, limit in CPU_LIMIT.items()
    }
    in_flight = per_second * llm_latency_s
    replicas["composer"] = max(replicas["composer"], math.ceil(in_flight / LLM_SLOTS_PER_COMPOSER))
    replicas["scheduler"] = MIN_REPLICAS["scheduler"]
    return replicas


def plan(b: Brokerage) -> CapacityPlan:
    clients = b.agents * b.clients_per_agent
    monthly = clients * sum(p.share * p.emails_per_month for p in b.plans)
    daily = monthly / SENDING_DAYS_PER_MONTH
    # Every step "at 10:00" local: a zone's whole day falls due in one minute. Zones an
    # hour apart or more never share that minute, so the busiest zone is the peak.
    busiest = daily * max(b.zones.values())
    spread = busiest / max(1.0, b.spread_minutes)
    per_second = spread / 60
    in_flight = per_second * b.llm_latency_s
    bookkeeping_kb = daily * (OUTBOX_DAYS * OUTBOX_KB + INBOX_DAYS * INBOX_KB)
    return CapacityPlan(
        follow_ups_per_month=monthly,
        follow_ups_per_sending_day=daily,
        peak_per_minute_unspread=busiest,
        peak_per_minute_spread=spread,
        replicas=replicas_for(per_second, b.llm_latency_s),
        replicas_unspread=replicas_for(min(busiest / 60, b.ses_max_send_rate), b.llm_latency_s),
        ses_rate_needed_unspread=busiest / 60,
        ses_rate_needed_spread=per_second,
        burst_drain_minutes_at_quota=busiest / b.ses_max_send_rate / 60,
        llm_rpm=spread,
        llm_tpm=spread * TOKENS_PER_EMAIL,
        llm_in_flight=in_flight,
        postgres_gb_per_month=monthly * PG_KEPT_KB / 1e6,
        postgres_gb_steady_bookkeeping=bookkeeping_kb * 7 / 5 / 1e6,
        jetstream_gb=daily * 7 / 5 * STREAM_DAYS * JETSTREAM_KB * b.jetstream_replicas / 1e6,
        cores=per_second * sum(CPU_MS.values()) / 1000,
    )


STANDARD_PLANS = (
    Plan("new lead (daily, then weekly)", 0.15, 8.0),
    Plan("nurture (every two weeks)", 0.55, 2.0),
    Plan("past client (monthly)", 0.30, 1.0),
)
US_ZONES = {"America/New_York": 0.47, "America/Chicago": 0.29, "America/Denver": 0.07,
            "America/Los_Angeles": 0.17}  # fmt: skip

EXAMPLES = (
    Brokerage("one agent", 1, 250, STANDARD_PLANS, {"America/New_York": 1.0},
              ses_max_send_rate=1.0, spread_minutes=120),
    Brokerage("500-agent brokerage", 500, 300, STANDARD_PLANS,
              {"America/New_York": 0.7, "America/Chicago": 0.3}, ses_max_send_rate=14.0),
    Brokerage("20,000-agent franchise", 20_000, 400, STANDARD_PLANS, US_ZONES,
              ses_max_send_rate=500.0, llm_latency_s=5.0, spread_minutes=240),
)  # fmt: skip


def replica_text(r: dict[str, int]) -> str:
    return ", ".join(
        f"{service} {r[service]}" for service in ("crm", "composer", "mailer", "scheduler")
    )


def report(b: Brokerage, p: CapacityPlan) -> str:
    zones = ", ".join(f"{z} {s:.0%}" for z, s in b.zones.items())
    lines = [
        f"### {b.name}: {b.agents:,} agents x {b.clients_per_agent:,} clients ({zones})",
        "",
        "| | |",
        "| --- | --- |",
        f"| follow-ups | {p.follow_ups_per_month:,.0f} a month, "
        f"{p.follow_ups_per_sending_day:,.0f} a sending day |",
        f"| busiest minute, every step at 10:00 | {p.peak_per_minute_unspread:,.0f} due |",
        f"| busiest minute, spread over {b.spread_minutes:.0f} min | "
        f"{p.peak_per_minute_spread:,.2f} due ({p.ses_rate_needed_spread:,.3f}/s) |",
        f"| SES send rate to keep up | {p.ses_rate_needed_spread:,.3f}/s spread; "
        f"{p.ses_rate_needed_unspread:,.1f}/s to send an unspread 10:00 within its minute |",
        f"| the 10:00 burst at the quota ({b.ses_max_send_rate:g}/s) | sent in "
        f"{p.burst_drain_minutes_at_quota:,.1f} min without spreading |",
        f"| LLM, spread | {p.llm_rpm:,.1f} requests/min, {p.llm_tpm:,.0f} tokens/min, "
        f"{p.llm_in_flight:,.1f} calls in flight at {b.llm_latency_s:g} s |",
        f"| replicas, spread | {replica_text(p.replicas)}; NATS 3 |",
        f"| replicas, unspread (at the SES quota) | {replica_text(p.replicas_unspread)} |",
        f"| CPU at the spread peak | {p.cores:,.3f} cores (services, PostgreSQL, NATS) |",
        f"| PostgreSQL | +{p.postgres_gb_per_month:,.3f} GB a month (emails, activities, "
        f"tasks) + {p.postgres_gb_steady_bookkeeping:,.3f} GB steady outbox/inbox |",
        f"| JetStream | {p.jetstream_gb:,.3f} GB steady (7 days of events x "
        f"{b.jetstream_replicas} replicas), the send ledger bounded at 30 days |",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(prog="capacity", description=__doc__.split("\n\n")[0])
    parser.add_argument("--agents", type=int)
    parser.add_argument("--clients-per-agent", type=int, default=300)
    parser.add_argument("--zones", default="America/New_York",
                        help="zone=share,… (shares of agents; equal when omitted)")  # fmt: skip
    parser.add_argument("--llm-latency", type=float, default=4.0)
    parser.add_argument("--ses-quota", type=float, default=14.0)
    parser.add_argument("--spread-minutes", type=float, default=120.0)
    args = parser.parse_args()
    if args.agents is None:
        print("\n\n".join(report(b, plan(b)) for b in EXAMPLES))
        return
    parts = [z.split("=") for z in args.zones.split(",")]
    zones = {z[0]: float(z[1]) if len(z) > 1 else 1 / len(parts) for z in parts}
    brokerage = Brokerage("your brokerage", args.agents, args.clients_per_agent,
                          STANDARD_PLANS, zones, llm_latency_s=args.llm_latency,
                          ses_max_send_rate=args.ses_quota,
                          spread_minutes=args.spread_minutes)  # fmt: skip
    print(report(brokerage, plan(brokerage)))


if __name__ == "__main__":
    main()
