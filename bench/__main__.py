"""``python -m bench [--smoke|--quick|--full] [--only throughput,latency,...]``.

Starts its own NATS and PostgreSQL in a temp dir, the fakes and the four services as
processes, runs the chosen benchmarks and writes bench/results/<timestamp>.{md,json}.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
import traceback
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from bench import apibench, claimbench, loopbench, peerbench, report, snapshot, stack
from bench.machine import describe_machine
from bench.sizes import FULL, QUICK, SMOKE, Sizes

ALL = ("throughput", "latency", "llm", "api", "claim", "peer")
RUNNING: list[stack.Loop] = []
"""The services of the loop while they run (a benchmark step revives them if needed)."""
REVIVED: list[str] = []
ROOT_RESULTS: dict[str, Any] = {}
PARTIAL = report.RESULTS / "partial.json"


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--smoke", action="store_true", help="tiny sizes: checks the harness")
    size.add_argument("--quick", action="store_true", help="smaller sizes (the default)")
    size.add_argument("--full", action="store_true", help="the sizes of the targets")
    parser.add_argument("--only", default=",".join(ALL), help=f"comma-separated: {','.join(ALL)}")
    parser.add_argument("--no-profile", action="store_true", help="skip the py-spy passes")
    parser.add_argument("--out", type=Path, default=report.RESULTS)
    parser.add_argument(
        "--code",
        default="HEAD",
        help="git revision to measure (exported with git archive; default HEAD), or 'tree' "
        "for the working tree as it is",
    )
    return parser.parse_args()


async def guarded(results: dict[str, Any], key: str, step: Callable[[], Awaitable[Any]]) -> None:
    """Run one benchmark; a failure is reported and the others still run."""
    print(f"[bench] {key} …", flush=True)
    for lp in RUNNING:
        if dead := lp.revive():
            REVIVED.append(f"before {key}: {', '.join(dead)} had exited and was restarted")
    started = time.monotonic()
    try:
        results[key] = await step()
    except Exception as exc:
        results.setdefault("errors", {})[key] = "".join(
            traceback.format_exception_only(exc)
        ).strip()
        traceback.print_exc()
    load = [round(x, 2) for x in os.getloadavg()]
    print(f"[bench] {key} done in {time.monotonic() - started:.0f}s (load {load})", flush=True)
    if isinstance(results.get(key), dict):
        results[key]["load_average_after"] = load
    # What is done so far survives an interrupted run.
    PARTIAL.parent.mkdir(parents=True, exist_ok=True)
    PARTIAL.write_text(json.dumps(ROOT_RESULTS, indent=2, default=str) + "\n")


async def services_part(
    srv: stack.Servers,
    sizes: Sizes,
    only: set[str],
    profile: Path | None,
    results: dict[str, Any],
) -> None:
    url = await srv.create_database("crm")
    with stack.loop(srv, url) as lp:
        RUNNING.append(lp)
        results["warm_up"] = await loopbench.warm_up(url)
        await asyncio.sleep(3)
        results["rss_mb"] = {"idle_after_start": loopbench.idle_rss(lp)}
        if "throughput" in only:
            await guarded(
                results,
                "throughput",
                lambda: loopbench.throughput(srv, lp, url, sizes.throughput_n),
            )
            if profile is not None:
                await guarded(
                    results,
                    "throughput_profiled",
                    lambda: loopbench.throughput(
                        srv, lp, url, sizes.profile_n, profile_dir=profile
                    ),
                )
        if "latency" in only:
            await guarded(
                results,
                "latency",
                lambda: loopbench.latency(srv, lp, url, sizes.latency_rate, sizes.latency_seconds),
            )
        if "llm" in only:
            llm: dict[str, Any] = {}
            for label, conc in (("default settings", None), ("LLM_MAX_CONCURRENCY=256", 256)):
                await guarded(
                    llm,
                    label,
                    lambda c=conc: loopbench.llm_bound(  # type: ignore[misc]
                        srv, lp, url, sizes.llm_n, sizes.llm_latency_s, c
                    ),
                )
            results["llm_bound"] = llm
        if "api" in only:
            await guarded(
                results,
                "api",
                lambda: apibench.api(lp, url, sizes.api_clients, sizes.api_seconds, profile),
            )
        await asyncio.sleep(3)
        results["rss_mb"]["idle_after_runs"] = loopbench.idle_rss(lp)
        RUNNING.clear()
    results["services_revived"] = REVIVED


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    sizes = SMOKE if args.smoke else FULL if args.full else QUICK
    only = {part.strip() for part in args.only.split(",") if part.strip()}
    results: dict[str, Any] = ROOT_RESULTS
    results |= {
        "size": sizes.name,
        "machine": describe_machine(),
        "sizes": sizes.__dict__,
    }
    started = time.monotonic()
    with stack.servers() as srv:
        profile = None if args.no_profile else srv.root / "profiles"
        results["scratch_dir"] = str(srv.root)
        if only & {"throughput", "latency", "llm", "api"}:
            await services_part(srv, sizes, only, profile, results)
        if "peer" in only:
            await guarded(
                results,
                "celery_peer",
                lambda: peerbench.run(
                    srv,
                    sizes.throughput_n,
                    sizes.latency_rate,
                    sizes.latency_seconds,
                    sizes.peer_worker_concurrency,
                ),
            )
        if "claim" in only:
            await guarded(
                results,
                "claim",
                lambda: claimbench.claims(srv, list(sizes.claim_rows), sizes.claim_reps),
            )
        if profile is not None and profile.exists():
            kept = args.out / "profiles"
            kept.mkdir(parents=True, exist_ok=True)
            for path in profile.iterdir():
                (kept / path.name).write_bytes(path.read_bytes())
    results["wall_seconds"] = round(time.monotonic() - started)
    results["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    return results


def main() -> None:
    args = parse()
    if args.code != "tree" and snapshot.active() is None:
        snapshot.reexec_from(args.code)
    try:
        results = asyncio.run(main_async(args))
    finally:
        snapshot.remove()
    md, js = report.write(results, args.out)
    PARTIAL.unlink(missing_ok=True)
    print(md.read_text())
    print(f"[bench] wrote {md} and {js}")
    for line in report.celery_ratios(results) or ["ahead of Celery: no side-by-side run"]:
        print(f"[bench] {line}")  # the last lines: read at a glance


if __name__ == "__main__":
    main()
