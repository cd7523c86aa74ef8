"""The load generator of the API benchmark, run as its own process so that its CPU is not
the CRM's: ``python -m bench.api_client --base-url U --token T --path /clients?... ``.

Keeps ``--concurrency`` requests in flight for ``--duration`` seconds over one aiohttp
session per worker and prints one JSON line: requests, errors, requests/s, p50/p99 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import time

import aiohttp


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def worker(
    session: aiohttp.ClientSession, paths: list[str], deadline: float, out: list[float]
) -> int:
    errors = 0
    while time.perf_counter() < deadline:
        path = random.choice(paths)
        started = time.perf_counter()
        async with session.get(path) as response:
            await response.read()
            if response.status != 200:
                errors += 1
                continue
        out.append(time.perf_counter() - started)
    return errors


async def run(
    base_url: str, token: str, paths: list[str], concurrency: int, duration: float
) -> dict[str, float]:
    connector = aiohttp.TCPConnector(limit=concurrency)
    headers = {"authorization": f"Bearer {token}"}
    async with aiohttp.ClientSession(base_url, connector=connector, headers=headers) as session:
        # A short warm-up, not counted.
        warm: list[float] = []
        await asyncio.gather(
            *(worker(session, paths, time.perf_counter() + 1.0, warm) for _ in range(concurrency))
        )
        latencies: list[float] = []
        started = time.perf_counter()
        errors = await asyncio.gather(
            *(worker(session, paths, started + duration, latencies) for _ in range(concurrency))
        )
        elapsed = time.perf_counter() - started
    return {
        "requests": len(latencies),
        "errors": sum(errors),
        "seconds": round(elapsed, 2),
        "requests_per_second": round(len(latencies) / elapsed, 1),
        "p50_ms": round(percentile(latencies, 0.50) * 1000, 1),
        "p99_ms": round(percentile(latencies, 0.99) * 1000, 1),
        "max_ms": round(max(latencies, default=float("nan")) * 1000, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(prog="bench.api_client", description=__doc__)
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--path", action="append", required=True, help="one or more")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--duration", type=float, default=10.0)
    args = parser.parse_args()
    result = asyncio.run(run(args.base_url, args.token, args.path, args.concurrency, args.duration))
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
