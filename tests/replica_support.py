"""Several Watchkeeper replicas on one PostgreSQL database and one stateful fake GitHub,
and a storm of deliveries to throw at them (duplicates, replays, repeats, noise)."""

from __future__ import annotations

import asyncio
import json
import os
import random
import socket
import subprocess
import sys
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpx
import uvicorn
from tests.support import INSTALLATION, SECRET, failing_secret_scan, sign

from watchkeeper.clock import Clock, SystemClock
from watchkeeper.github.fake import FakeGitHub
from watchkeeper.settings import Settings
from watchkeeper.store.postgres import PostgresStore
from watchkeeper.wiring import Runtime, build_runtime, create_app
from watchkeeper.worker import Worker

ORG = "octo-org"


@dataclass(frozen=True)
class Post:
    delivery_id: str
    event: str
    body: bytes


@dataclass(frozen=True)
class Storm:
    posts: tuple[Post, ...]  # in sending order, duplicates included
    repos: tuple[str, ...]  # one failing secret scan fingerprint each
    runs_per_repo: int  # distinct failing runs per repository

    @property
    def delivery_ids(self) -> set[str]:
        return {p.delivery_id for p in self.posts}


def repo_names(count: int) -> tuple[str, ...]:
    return tuple(f"{ORG}/svc-{i:02d}" for i in range(count))


def scan_failure(repo: str, run_id: int, minute: int) -> dict[str, Any]:
    """A failing secret scan run in `repo` (failing_secret_scan moved to another repository)."""
    payload = failing_secret_scan(run_id=run_id, updated_at=f"2026-11-27T09:{minute:02d}:00Z")
    name = repo.split("/", 1)[1]
    payload["repository"].update(name=name, full_name=repo, id=run_id // 1000,
                                 html_url=f"https://github.com/{repo}")
    payload["workflow_run"]["html_url"] = f"https://github.com/{repo}/actions/runs/{run_id}"
    return payload


def unrelated_run(repo: str, run_id: int) -> dict[str, Any]:
    """A failing run of an ordinary CI workflow: no security signal, no GitHub call."""
    payload = scan_failure(repo, run_id, 1)
    payload["workflow_run"].update(name="CI", path=".github/workflows/ci.yml")
    payload["workflow"].update(name="CI", path=".github/workflows/ci.yml")
    return payload


def storm(repos: int = 20, runs: int = 3, replays: int = 2, noise: int = 0,
          copies: int = 2, seed: int = 8) -> Storm:
    """Per repository `runs` distinct failing runs plus `replays` of them under new delivery
    IDs; `noise` unrelated runs; then every delivery sent `copies` times (same ID)."""
    names = repo_names(repos)
    unique: list[Post] = []
    for r, repo in enumerate(names):
        bodies = [json.dumps(scan_failure(repo, 1_000_000 + r * 1000 + k, k + 1)).encode()
                  for k in range(runs)]
        for k, body in enumerate(bodies):
            unique.append(Post(f"run-{r}-{k}", "workflow_run", body))
        for k in range(replays):
            unique.append(Post(f"replay-{r}-{k}", "workflow_run", bodies[k % runs]))
    for n in range(noise):
        body = json.dumps(unrelated_run(names[n % repos], 9_000_000 + n)).encode()
        unique.append(Post(f"noise-{n}", "workflow_run", body))
    posts = [p for p in unique for _ in range(copies)]
    random.Random(seed).shuffle(posts)
    return Storm(tuple(posts), names, runs)


def headers(post: Post) -> dict[str, str]:
    return {"X-GitHub-Event": post.event, "X-GitHub-Delivery": post.delivery_id,
            "X-Hub-Signature-256": sign(post.body), "Content-Type": "application/json"}


async def send_all(clients: Sequence[httpx.AsyncClient], posts: Sequence[Post],
                   concurrency: int = 16) -> Counter[int]:
    """Send every post (round-robin over the replicas, `concurrency` in flight); returns the
    count of each status code."""
    gate = asyncio.Semaphore(concurrency)
    statuses: Counter[int] = Counter()

    async def one(i: int, post: Post) -> None:
        async with gate:
            response = await clients[i % len(clients)].post(
                "/api/github/webhooks", content=post.body, headers=headers(post))
            statuses[response.status_code] += 1

    await asyncio.gather(*(one(i, p) for i, p in enumerate(posts)))
    return statuses


def fake_github(repos: Sequence[str], **options: Any) -> FakeGitHub:
    fake = FakeGitHub(app_id=4242, app_slug="watchkeeper", **options)
    for repo in repos:
        fake.add_repo(repo, installation_id=INSTALLATION, private=True, default_branch="master")
    return fake


def settings_env(fake: FakeGitHub, database_url: str) -> dict[str, str]:
    return {"APP_ID": str(fake.app_id), "PRIVATE_KEY": fake.private_key,
            "WEBHOOK_SECRET": SECRET, "DATABASE_URL": database_url, "MUTATION_INTERVAL": "0",
            "APP_SLUG": "watchkeeper", "GITHUB_API_URL": fake.api_url}


@dataclass
class Replica:
    runtime: Runtime
    client: httpx.AsyncClient  # the replica's webhook endpoint
    worker: Worker

    @property
    def store(self) -> PostgresStore:
        assert isinstance(self.runtime.store, PostgresStore)
        return self.runtime.store


@asynccontextmanager
async def replicas(database_url: str, schema: str, fake: FakeGitHub, count: int = 2,
                   clock: Clock | None = None) -> AsyncIterator[list[Replica]]:
    """`count` full runtimes, each with its own PostgresStore (its own pool) and worker
    (4 slots) running as a task, sharing the database and the fake GitHub."""
    clock = clock or SystemClock()
    settings = Settings.from_env(settings_env(fake, database_url))
    running: list[Replica] = []
    async with AsyncExitStack() as stack:
        for i in range(count):
            store = PostgresStore(database_url, schema=schema, max_size=8)
            stack.push_async_callback(store.close)
            runtime = build_runtime(settings, store=store, transport=fake, clock=clock)
            app = create_app(settings, runtime=runtime, run_worker=False)
            client = await stack.enter_async_context(httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url=f"http://replica-{i}.test"))
            worker = Worker(store, runtime.pipeline.process, clock, concurrency=4,
                            base_backoff=0.05, poll_interval=0.05, prune_every=None,
                            context_factory=runtime.gateway.session, name=f"replica-{i}")
            running.append(Replica(runtime, client, worker))
        tasks = [asyncio.create_task(r.worker.run()) for r in running]
        try:
            yield running
        finally:
            for r in running:
                await r.worker.stop()
            await asyncio.wait_for(asyncio.gather(*tasks), 30)


async def settled(store: PostgresStore, expected: int, timeout: float = 60) -> dict[str, float]:
    """Wait until `expected` deliveries are stored and none is pending; the queue's stats."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        stats = await store.queue_stats(SystemClock().now())
        rows = await store.db.rows("SELECT COUNT(*) FROM deliveries")
        if rows[0][0] >= expected and stats["pending"] == 0:
            return stats
        if loop.time() > deadline:
            raise AssertionError(f"not settled after {timeout}s: {stats}, {rows[0][0]} stored")
        await asyncio.sleep(0.05)


def issue_report(fake: FakeGitHub, repos: Sequence[str]) -> dict[str, Any]:
    """What GitHub ends up holding: incident issues per repository, duplicate comments."""
    issues = {repo: [i for i in fake.issues(repo) if i.pull is None] for repo in repos}
    duplicates = []
    for repo, found in issues.items():
        for issue in found:
            bodies = Counter(c.body for c in issue.comments)
            duplicates += [(repo, issue.number, body[:60]) for body, n in bodies.items() if n > 1]
    return {"issues_per_repo": Counter(len(found) for found in issues.values()),
            "duplicate_comments": duplicates,
            "issue_creates": len(fake.calls("POST", r"/repos/[^/]+/[^/]+/issues"))}


def with_search_path(database_url: str, schema: str) -> str:
    """The URL with libpq's `options` setting the schema (for processes configured by
    DATABASE_URL alone; the schema must exist)."""
    parts = urlsplit(database_url)
    query = [*parse_qsl(parts.query), ("options", f"-csearch_path={schema}")]
    return urlunsplit(parts._replace(query=urlencode(query)))


_SERVE = "import sys; from watchkeeper.cli import main; sys.exit(main(sys.argv[1:]))"


def serve_process(env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    """`watchkeeper serve` in its own process, listening on loopback."""
    return subprocess.Popen(
        [sys.executable, "-c", _SERVE, "serve", "--host", "127.0.0.1", "--port", str(port)],
        env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


async def wait_healthy(client: httpx.AsyncClient, proc: subprocess.Popen[bytes],
                       timeout: float = 30) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        if proc.poll() is not None:
            err = proc.stderr.read().decode() if proc.stderr else ""
            raise AssertionError(f"the server exited with {proc.returncode}: {err[-2000:]}")
        try:
            if (await client.get("/healthz")).status_code == 200:
                return
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.1)
    raise AssertionError("the server did not become healthy")


def free_socket() -> socket.socket:
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


def free_port() -> int:
    with free_socket() as sock:
        return int(sock.getsockname()[1])


@asynccontextmanager
async def served(app: Any, sock: socket.socket) -> AsyncIterator[None]:
    """Serve an ASGI app with uvicorn on an already bound socket, in this event loop."""
    server = uvicorn.Server(uvicorn.Config(app, log_config=None, access_log=False,
                                           lifespan="off"))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.01)
        yield
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 10)
