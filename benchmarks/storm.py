"""Storm benchmark (SQLite, one server): thousands of signed deliveries against
``watchkeeper serve``, with a fake GitHub over HTTP on loopback adding latency to every call.

The storm: failing secret scans across many repositories (the first run of each opens an
incident, later runs repeat it), the same delivery sent twice, replays of deliveries under new
delivery IDs, and irrelevant events (green CI runs, pushes, pings), shuffled. Measured: time
until everything is processed, time to 202 (p50/p99), the server's peak memory, and GitHub API
calls per new incident and per repeated failure; checked: no duplicate, nothing lost.

    python benchmarks/storm.py                          # 5,000 deliveries, 50 repositories
    python benchmarks/storm.py --deliveries 500 --repos 10 --latency 0.02   # a quick look

Nothing leaves 127.0.0.1. Exit status 0 when nothing was lost or duplicated.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sqlite3
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from storm_common import (
    FakeServer,
    ServeProcess,
    free_port,
    make_fake,
    outcome,
    send,
    serve_env,
    storm_plan,
    unanswered,
)

SECRET = "storm-benchmark-secret"


def stale_incidents(db: Path) -> int:
    """Open incidents whose issue still lags the record (coalesced repeats not shown yet)."""
    import json

    conn = sqlite3.connect(db)
    try:
        docs = [json.loads(d) for (d,) in conn.execute(
            "SELECT doc FROM incidents WHERE is_open = 1").fetchall()]
    finally:
        conn.close()
    return sum(1 for d in docs if d.get("stale_sections"))


async def caught_up(db: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while stale_incidents(db):
        if time.monotonic() > deadline:
            raise TimeoutError("issues still lag their records")
        await asyncio.sleep(0.25)


def stored_incidents(db: Path) -> dict[str, int]:
    """repository -> the stored incident's occurrence count (from the JSON documents)."""
    import json

    conn = sqlite3.connect(db)
    try:
        rows = conn.execute("SELECT doc FROM incidents").fetchall()
        states = dict(conn.execute(
            "SELECT state, COUNT(*) FROM deliveries GROUP BY state").fetchall())
    finally:
        conn.close()
    found: dict[str, int] = {}
    for (doc,) in rows:
        data = json.loads(doc)
        found[data["repo"]] = data["occurrences"]["count"]
    found["__states__"] = states  # type: ignore[assignment]
    return found


async def run(args: argparse.Namespace, tmp: Path) -> int:
    plan = storm_plan(deliveries=args.deliveries, repos=args.repos,
                      runs_per_repo=args.runs_per_repo)
    failing = sum(len(r) for r in plan.runs.values())
    print(f"storm: {len(plan.posts)} deliveries ({plan.unique_deliveries} distinct IDs): "
          f"{failing} failing security runs in {len(plan.runs)} repositories "
          f"({len(plan.runs)} new incidents, {failing - len(plan.runs)} repeats), replays, "
          f"duplicates and irrelevant events; GitHub latency {args.latency * 1000:.0f} ms, "
          f"MUTATION_INTERVAL {args.mutation_interval} s, {os.cpu_count()} CPUs", flush=True)
    port = free_port()
    fake = make_fake(port, plan.repos, latency=args.latency)
    db = tmp / "storm.db"
    env = serve_env(fake, database_url=f"sqlite:///{db}", secret=SECRET,
                    MUTATION_INTERVAL=str(args.mutation_interval),
                    WORKER_CONCURRENCY=str(args.workers))
    with FakeServer(fake, port):
        server = ServeProcess(env, free_port(), tmp / "serve.log")
        await server.start()
        started = time.perf_counter()
        sent = await send(plan.posts, server.url, SECRET, concurrency=args.concurrency)
        answered = time.perf_counter() - started
        missing = unanswered(plan.posts, sent)
        if missing:
            print(f"{len(missing)} deliveries got no 2xx: {Counter(sent.statuses)}")
        try:
            await server.wait_idle(timeout=args.timeout)
            processed = time.perf_counter() - started
            queue_calls = len(fake.requests)
            await caught_up(db, timeout=args.timeout)
            shown = time.perf_counter() - started
        finally:
            memory = server.sample_memory()
            await server.stop()
    found = stored_incidents(db)
    states = found.pop("__states__")
    result = outcome(fake, plan, found)  # type: ignore[arg-type]
    calls = result.calls
    repeats = failing - len(plan.runs)
    print(f"answered all in {answered:.1f} s; time to 202: p50 {sent.p50 * 1000:.1f} ms, "
          f"p99 {sent.percentile(0.99) * 1000:.1f} ms; statuses {dict(sent.statuses)}")
    print(f"processed all in {processed:.1f} s, every issue showing every repeat after "
          f"{shown:.1f} s; deliveries by state {states}; peak server memory "
          f"{memory / 1024:.0f} MiB")
    print(f"GitHub API calls: {sum(calls.values())} in total")
    for kind, n in calls.most_common():
        print(f"  {n:6d}  {kind}")
    opening = calls["POST issues"]
    per_repeat = sum(n for kind, n in calls.items() if kind.startswith(
        ("GET issues/N", "PATCH issues/N", "POST issues/N/comments")))
    print(f"per new incident: {opening / len(plan.runs):.2f} issue creation(s) "
          f"+ {(calls['GET labels'] + calls['POST labels']) / len(plan.runs):.2f} label "
          f"call(s) (first incident of a repository) + {calls['config'] / len(plan.runs):.2f} "
          f"config read(s)")
    refreshes = calls["PATCH issues/N"]
    print(f"per repeated failure: {per_repeat / max(repeats, 1):.2f} call(s) on its issue "
          f"({repeats} repeats, {refreshes} body update(s) for them all: "
          f"{refreshes / len(plan.runs):.1f} per incident, each one read and one write; "
          f"{len(fake.requests) - queue_calls} calls after the queue was empty)")
    print(f"duplicates {result.duplicates}; lost or miscounted {len(result.lost)} "
          f"{result.lost[:5]}")
    return 0 if result.duplicates == 0 and not result.lost and not missing else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deliveries", type=int, default=5000)
    parser.add_argument("--repos", type=int, default=50)
    parser.add_argument("--runs-per-repo", type=int, default=20)
    parser.add_argument("--latency", type=float, default=0.1, help="seconds per GitHub call")
    parser.add_argument("--concurrency", type=int, default=32, help="deliveries in flight")
    parser.add_argument("--workers", type=int, default=4, help="WORKER_CONCURRENCY")
    parser.add_argument("--mutation-interval", type=float, default=1.0)
    parser.add_argument("--timeout", type=float, default=3600)
    args = parser.parse_args()
    if not (0 < args.deliveries <= 50_000 and 0 < args.repos <= 1000):
        raise SystemExit("keep --deliveries in 1..50000 and --repos in 1..1000")
    tmp = Path(tempfile.mkdtemp(prefix="wk-storm-"))
    try:
        return asyncio.run(run(args, tmp))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
