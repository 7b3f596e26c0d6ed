"""Storm benchmark, PostgreSQL: two ``watchkeeper serve`` replicas share one database.

A storm of signed deliveries (failing secret scans across 50 repositories, their replays,
the same delivery sent twice, irrelevant events) is sent to both replicas at once, with
a fake GitHub served over HTTP on loopback that adds 100 ms to every call. Reported:
time until everything is processed, time to 202 (p50/p99), the servers' peak memory,
GitHub API calls per new incident and per repeated failure, duplicates and losses.

    python -m benchmarks.storm_postgres                    # 5,000 deliveries
    python -m benchmarks.storm_postgres --deliveries 1000  # a quick look

Two phases, so that calls can be attributed: first one failing run per repository
(each opens an incident), then everything else, shuffled. Without ``--database-url``
a throwaway PostgreSQL cluster (durable settings) is started in a temporary directory,
as the ``postgres`` user when run as root. Nothing leaves 127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from benchmarks.storm_common import (
    FakeServer,
    Sent,
    ServeProcess,
    free_port,
    make_fake,
    outcome,
    send,
    serve_env,
    storm_plan,
    unanswered,
)

from watchkeeper.store.postgres import PostgresStore

REPLICAS = 2


# --- a throwaway PostgreSQL ----------------------------------------------------------


def _bindir() -> Path:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"),
                   key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit()
                   else 0)
    if found:
        return found[-1].parent
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).parent
    raise SystemExit("no PostgreSQL server binaries: install postgresql or pass --database-url")


@contextlib.contextmanager
def throwaway_postgres() -> Iterator[str]:
    """A cluster on a unix socket in a temporary directory; yields its URL."""
    bindir = _bindir()
    tmp = Path(tempfile.mkdtemp(prefix="wk-storm-pg-"))
    tmp.chmod(0o755)
    as_owner: list[str] = []
    if os.geteuid() == 0:  # initdb refuses root
        shutil.chown(tmp, "postgres", "postgres")
        as_owner = ["runuser", "-u", "postgres", "--"]
    data = tmp / "data"
    quiet = {"stdout": subprocess.DEVNULL}
    subprocess.run([*as_owner, str(bindir / "initdb"), "-D", str(data), "-U", "postgres",
                    "--auth=trust", "--encoding=UTF8", "--no-locale"], check=True, **quiet)
    options = f"-c listen_addresses='' -c unix_socket_directories='{tmp}' -p 5432"
    subprocess.run([*as_owner, str(bindir / "pg_ctl"), "-D", str(data), "-l", str(tmp / "log"),
                    "-w", "-o", options, "start"], check=True, **quiet)
    try:
        yield f"postgresql://postgres@/postgres?host={tmp}&port=5432"
    finally:
        subprocess.run([*as_owner, str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w",
                        "stop"], check=False, **quiet)
        shutil.rmtree(tmp, ignore_errors=True)


def with_search_path(database_url: str, schema: str) -> str:
    parts = urlsplit(database_url)
    query = [*parse_qsl(parts.query), ("options", f"-csearch_path={schema}")]
    return urlunsplit(parts._replace(query=urlencode(query)))


# --- the run -------------------------------------------------------------------------


def cpu_seconds(server: ServeProcess) -> float:
    """User and system CPU time the server process has used so far."""
    if server.proc is None:
        return 0.0
    fields = Path(f"/proc/{server.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def idle(servers: list[ServeProcess], timeout: float) -> None:
    """Until the shared queue has nothing pending (any replica sees the whole queue)."""
    await servers[0].wait_idle(timeout)
    for server in servers:
        server.sample_memory()


async def run(args: argparse.Namespace, database_url: str) -> int:
    plan = storm_plan(deliveries=args.deliveries, repos=args.repos,
                      runs_per_repo=args.runs_per_repo, prefix=f"pg{uuid.uuid4().hex[:6]}")
    schema = f"wk_storm_{uuid.uuid4().hex[:8]}"
    observer = PostgresStore(database_url, schema=schema)
    await observer.open()  # creates and migrates the schema the replicas use
    secret = secrets.token_hex(32)
    fake_port = free_port()
    fake = make_fake(fake_port, plan.repos, latency=args.latency)
    firsts = {p.delivery_id for p in plan.posts if p.delivery_id.endswith("-0")
              and "-run-" in p.delivery_id}
    phase_a = [p for p in dict.fromkeys(p for p in plan.posts if p.delivery_id in firsts)]
    phase_b = list(plan.posts)
    for post in phase_a:
        phase_b.remove(post)  # the first copy; a same-ID duplicate stays in phase B
    log_dir = Path(tempfile.mkdtemp(prefix="wk-storm-logs-"))
    env = serve_env(fake, database_url=with_search_path(database_url, schema), secret=secret,
                    MUTATION_INTERVAL=str(args.mutation_interval),
                    WORKER_CONCURRENCY=str(args.worker_concurrency))
    servers = [ServeProcess(env, free_port(), log_dir / f"replica-{i}.log")
               for i in range(REPLICAS)]
    print(f"{len(plan.posts)} deliveries ({plan.unique_deliveries} distinct IDs) to "
          f"{REPLICAS} replicas on PostgreSQL; {len(plan.repos)} repositories, "
          f"{sum(len(r) for r in plan.runs.values())} distinct failing runs; GitHub latency "
          f"{args.latency * 1000:.0f} ms; mutation interval {args.mutation_interval} s; "
          f"{os.cpu_count()} CPUs; logs in {log_dir}", flush=True)
    try:
        with FakeServer(fake, fake_port):
            await asyncio.gather(*(s.start() for s in servers))
            sent = Sent()
            started = time.perf_counter()
            await asyncio.gather(*(send(phase_a[i::REPLICAS], s.url, secret,
                                        concurrency=args.concurrency // REPLICAS, sent=sent)
                                   for i, s in enumerate(servers)))
            await idle(servers, args.timeout)
            phase_a_seconds = time.perf_counter() - started
            calls_a = len(fake.requests)
            started_b = time.perf_counter()
            await asyncio.gather(*(send(phase_b[i::REPLICAS], s.url, secret,
                                        concurrency=args.concurrency // REPLICAS, sent=sent)
                                   for i, s in enumerate(servers)))
            accepted_seconds = time.perf_counter() - started_b
            await idle(servers, args.timeout)
            phase_b_seconds = time.perf_counter() - started_b
            calls_b = len(fake.requests) - calls_a
            cpu = [cpu_seconds(s) for s in servers]
            own_cpu = sum(os.times()[:2])
            for server in servers:
                await server.stop()
        incidents = await observer.list_incidents(open_only=False)
        states = await observer.db.rows(
            "SELECT state, COUNT(*) FROM deliveries GROUP BY state ORDER BY state")
    finally:
        for server in servers:
            await server.kill()
        with contextlib.suppress(Exception):
            await observer.db.execute(f'DROP SCHEMA "{schema}" CASCADE')
        await observer.close()

    occurrences = {i.repo: i.occurrences.count for i in incidents}
    result = outcome(fake, plan, occurrences)
    repeats = sum(len(r) for r in plan.runs.values()) - len(plan.repos)
    missing = unanswered(plan.posts, sent)
    done = dict(states)
    rss = ", ".join(f"{s.peak_rss_kb / 1024:.0f} MiB" for s in servers)
    print(f"phase 1: {len(phase_a)} new incidents processed in {phase_a_seconds:.1f} s; "
          f"{calls_a / max(1, len(phase_a)):.1f} GitHub calls per new incident")
    print(f"phase 2: {len(phase_b)} deliveries answered in {accepted_seconds:.1f} s, all "
          f"processed after {phase_b_seconds:.1f} s; {calls_b / max(1, repeats):.2f} GitHub "
          f"calls per repeated failure ({repeats} repeats; replays, duplicates and "
          f"irrelevant events included in the count)")
    print(f"all {len(plan.posts)} processed after {phase_a_seconds + phase_b_seconds:.1f} s; "
          f"time to answer p50 {sent.p50 * 1000:.1f} ms, p99 {sent.percentile(0.99) * 1000:.1f}"
          f" ms; answers {dict(sorted(sent.statuses.items()))}")
    print(f"peak RSS per replica: {rss}; CPU seconds per replica: "
          f"{', '.join(f'{c:.0f}' for c in cpu)}; this process (fake GitHub and client): "
          f"{own_cpu:.0f}")
    print(f"store: {done}; incidents {len(incidents)}; issues per repository "
          f"{sorted(set(result.issues_per_repo.values()))}; duplicates {result.duplicates}; "
          f"lost {len(result.lost) + len(missing)}")
    print("calls: " + ", ".join(f"{k} {v}" for k, v in result.calls.most_common()))
    ok = (result.duplicates == 0 and not result.lost and not missing
          and done == {"done": plan.unique_deliveries}
          and len(incidents) == len(plan.repos))
    return 0 if ok else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--deliveries", type=int, default=5000)
    parser.add_argument("--repos", type=int, default=50)
    parser.add_argument("--runs-per-repo", type=int, default=20)
    parser.add_argument("--concurrency", type=int, default=16, help="requests in flight")
    parser.add_argument("--latency", type=float, default=0.1, help="seconds per GitHub call")
    parser.add_argument("--mutation-interval", type=float, default=0.0,
                        help="MUTATION_INTERVAL of the replicas (seconds between writes)")
    parser.add_argument("--worker-concurrency", type=int, default=4)
    parser.add_argument("--timeout", type=float, default=1200, help="seconds to wait")
    parser.add_argument("--database-url", help="an existing server (default: a throwaway one)")
    args = parser.parse_args()
    if not (0 < args.deliveries <= 50_000 and 0 < args.repos <= 500
            and 2 <= args.concurrency <= 256 and args.timeout <= 3600):
        raise SystemExit("keep --deliveries in 1..50000, --repos in 1..500, "
                         "--concurrency in 2..256, --timeout <= 3600")
    if args.database_url:
        return asyncio.run(run(args, args.database_url))
    with throwaway_postgres() as url:
        return asyncio.run(run(args, url))


if __name__ == "__main__":
    sys.exit(main())
