"""The report: targets checked, then markdown and JSON into bench/results/<timestamp>."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"


def _get(data: dict[str, Any], *path: str) -> Any:
    node: Any = data
    for key in path:
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    return node


def _row(name: str, value: Any, ok: bool | None, target: str) -> dict[str, Any]:
    verdict = "n/a" if ok is None or value is None else ("met" if ok else "MISSED")
    return {"target": name, "wanted": target, "measured": value, "verdict": verdict}


def targets(r: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    fps = _get(r, "throughput", "follow_ups_per_second")
    rows.append(_row("throughput", fps, fps is not None and fps >= 1000, ">= 1,000 follow-ups/s"))
    cpu = _get(r, "throughput", "cpu_ms_per_follow_up")
    rows.append(_row("CPU per follow-up", cpu, cpu is not None and cpu <= 2, "<= 2 ms"))
    p99 = _get(r, "latency", "latency_due_to_sent", "p99_s")
    rows.append(_row("latency p99 at 100/s", p99, p99 is not None and p99 <= 1.0, "<= 1.0 s"))
    for label, llm in (r.get("llm_bound") or {}).items():
        flight, eps = llm.get("max_in_flight"), llm.get("emails_per_second")
        rows.append(
            _row(
                f"LLM-bound in flight ({label})",
                flight,
                flight is not None and flight >= 200,
                ">= 200",
            )
        )
        rows.append(
            _row(f"LLM-bound emails/s ({label})", eps, eps is not None and eps >= 100, ">= 100/s")
        )
    first = _get(r, "api", "results", "list_first_page") or {}
    rps, api99 = first.get("requests_per_second"), first.get("p99_ms")
    rows.append(_row("API list requests/s", rps, rps is not None and rps >= 1000, ">= 1,000/s"))
    rows.append(_row("API list p99", api99, api99 is not None and api99 <= 50, "<= 50 ms"))
    search = _get(r, "api", "results", "search") or {}
    srps, s99 = search.get("requests_per_second"), search.get("p99_ms")
    rows.append(_row("API search requests/s", srps, srps is not None and srps >= 300, ">= 300/s"))
    rows.append(_row("API search p99", s99, s99 is not None and s99 <= 100, "<= 100 ms"))
    claim = _get(r, "claim", "by_rows") or {}
    if claim:
        big = claim[max(claim, key=int)]
        ms = big.get("claim_batch_ms_median")
        rows.append(
            _row(
                f"claim batch of 500 at {int(big['rows']):,} rows",
                ms,
                ms is not None and ms <= 20,
                "<= 20 ms",
            )
        )
    for name, mb in (_get(r, "rss_mb", "idle_after_start") or {}).items():
        rows.append(_row(f"idle RSS {name}", mb, mb < 150, "< 150 MB"))
    peer = r.get("celery_peer") or {}
    if peer and r.get("throughput"):
        ours, theirs = r["throughput"], peer.get("throughput", {})
        rows.append(
            _row(
                "ahead of Celery: throughput (ratio ours/theirs)",
                _ratio(ours.get("follow_ups_per_second"), theirs.get("follow_ups_per_second")),
                _ahead(ours.get("follow_ups_per_second"), theirs.get("follow_ups_per_second")),
                "> 1",
            )
        )
        rows.append(
            _row(
                "ahead of Celery: CPU per follow-up (ratio theirs/ours)",
                _ratio(theirs.get("cpu_ms_per_follow_up"), ours.get("cpu_ms_per_follow_up")),
                _ahead(theirs.get("cpu_ms_per_follow_up"), ours.get("cpu_ms_per_follow_up")),
                "> 1",
            )
        )
    if peer and r.get("latency"):
        a = _get(r, "latency", "latency_due_to_sent", "p99_s")
        b = _get(peer, "latency", "latency_due_to_sent", "p99_s")
        rows.append(
            _row(
                "ahead of Celery: p99 latency (ratio theirs/ours)",
                _ratio(b, a),
                _ahead(b, a),
                "> 1",
            )
        )
    return rows


def celery_ratios(r: dict[str, Any]) -> list[str]:
    """The three side-by-side ratios (above 1: RealtorOS ahead), one line each."""
    rows = r.get("targets") or targets(r)
    return [
        f"{row['target']}: {row['measured']} ({row['verdict']})"
        for row in rows
        if str(row["target"]).startswith("ahead of Celery")
    ]


def _ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 2) if a and b else None


def _ahead(a: float | None, b: float | None) -> bool | None:
    return None if a is None or b is None else a > b


def write(results: dict[str, Any], out_dir: Path = RESULTS) -> tuple[Path, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    json_path = out_dir / f"{stamp}.json"
    json_path.write_text(json.dumps(results, indent=2, default=str) + "\n")
    results["targets"] = targets(results)
    json_path.write_text(json.dumps(results, indent=2, default=str) + "\n")
    md_path = out_dir / f"{stamp}.md"
    md_path.write_text(markdown(results))
    return md_path, json_path


def markdown(r: dict[str, Any]) -> str:
    m = r["machine"]
    lines = [
        f"# RealtorOS benchmarks — {m['date']} ({r['size']})",
        "",
        f"- machine: {m['nproc']} CPUs ({m['cpu_model']}), {m['memory_gb']} GB, "
        f"kernel {m['kernel']}, Python {m['python']}",
        f"- commit: {m['commit']}",
        f"- load average at start: {m['load_average_at_start']}; at the end: "
        f"{r.get('load_average_at_end')}",
        f"- wall time: {r.get('wall_seconds')} s",
        "",
        "## Targets",
        "",
        "| target | wanted | measured | verdict |",
        "| --- | --- | --- | --- |",
    ]
    lines += [
        f"| {t['target']} | {t['wanted']} | {t['measured']} | {t['verdict']} |"
        for t in r["targets"]
    ]
    for section in (
        "throughput",
        "throughput_profiled",
        "latency",
        "llm_bound",
        "api",
        "claim",
        "celery_peer",
        "rss_mb",
        "errors",
    ):
        if section in r:
            lines += [
                "",
                f"## {section}",
                "",
                "```json",
                json.dumps(_without_profiles(r[section]), indent=2, default=str),
                "```",
            ]
    lines += _profiles(r)
    return "\n".join(lines) + "\n"


def _without_profiles(node: Any) -> Any:
    if isinstance(node, dict):
        return {
            k: _without_profiles(v)
            for k, v in node.items()
            if k not in ("profiles", "profile_tottime_top15")
        }
    return node


def _profiles(r: dict[str, Any]) -> list[str]:
    lines = ["", "## Profiles (py-spy, samples while on CPU; top own frames)"]
    found: list[tuple[str, dict[str, Any]]] = []
    for section in ("throughput_profiled", "api"):
        for name, prof in (_get(r, section, "profiles") or {}).items():
            found.append((f"{section} / {name}", prof))
    for label, prof in found:
        lines += ["", f"### {label} ({prof['samples']} samples, {prof['file']})", ""]
        lines += [f"- {pct}% {frame}" for frame, pct in prof["top_own"]]
        lines += ["", "inclusive, RealtorOS code:", ""]
        lines += [f"- {pct}% {frame}" for frame, pct in prof.get("top_inclusive_app", [])]
    for rows, claim in (_get(r, "claim", "by_rows") or {}).items():
        if "profile_tottime_top15" in claim:
            lines += ["", f"### claim_batch at {rows} rows (cProfile, by own time)", "", "```"]
            lines += claim["profile_tottime_top15"]
            lines += ["```"]
    return lines
