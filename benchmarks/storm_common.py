"""Shared by the storm benchmarks and the SIGKILL test: a fake GitHub served over HTTP on
loopback, ``watchkeeper serve`` processes, a storm of signed deliveries, and the checks
that nothing was lost or duplicated.

Nothing here leaves 127.0.0.1. The fake GitHub runs in a thread of the calling process
(its own event loop), so the driver can inspect and steer it while servers use it.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import hashlib
import hmac
import json
import os
import random
import signal
import socket
import statistics
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from watchkeeper.github.fake import FakeGitHub
from watchkeeper.github.fake.asgi import FakeGitHubApp

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures" / "webhooks"
WEBHOOK_PATH = "/api/github/webhooks"
ORG = "octo-org"
INSTALLATION = 7


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


# --- the fake GitHub over HTTP -------------------------------------------------------


def make_fake(port: int, repos: Sequence[str], *, latency: float = 0.0,
              app_id: int = 4242) -> FakeGitHub:
    """A fake GitHub whose URLs lead back to 127.0.0.1:port, with the repositories
    installed (one installation) and ``latency`` seconds added to every call."""
    fake = FakeGitHub(app_id=app_id, app_slug="watchkeeper", api_url=f"http://127.0.0.1:{port}")
    for repo in repos:
        fake.add_repo(repo, installation_id=INSTALLATION, default_branch="master")
    fake.latency = latency
    return fake


class FakeServer:
    """Serves the fake on 127.0.0.1 from a thread with its own event loop."""

    def __init__(self, fake: FakeGitHub, port: int) -> None:
        config = uvicorn.Config(FakeGitHubApp(fake), host="127.0.0.1", port=port,
                                log_config=None, access_log=False, lifespan="off",
                                timeout_keep_alive=30, backlog=4096)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name="fake-github", daemon=True)

    def __enter__(self) -> FakeServer:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the fake GitHub did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=20)


# --- watchkeeper serve as a child process -------------------------------------------


def serve_env(fake: FakeGitHub, *, database_url: str, secret: str,
              **extra: str) -> dict[str, str]:
    """The environment of a ``watchkeeper serve`` talking to the fake."""
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "TMPDIR",
                                                        "PYTHONPATH", "VIRTUAL_ENV")}
    env.update({
        "APP_ID": str(fake.app_id), "PRIVATE_KEY": fake.private_key, "WEBHOOK_SECRET": secret,
        "GITHUB_API_URL": fake.api_url, "DATABASE_URL": database_url,
        "APP_SLUG": "watchkeeper", "LOG_LEVEL": "WARNING", "PYTHONUNBUFFERED": "1",
        "SWEEP_INTERVAL": "0", "RECONCILE_INTERVAL": "0",
    })
    env.update(extra)
    return env


class ServeProcess:
    """One ``watchkeeper serve`` on 127.0.0.1:port; its output goes to ``log``."""

    def __init__(self, env: dict[str, str], port: int, log: Path) -> None:
        self.env, self.port, self.log = env, port, log
        self.proc: asyncio.subprocess.Process | None = None
        self.peak_rss_kb = 0
        self.url = f"http://127.0.0.1:{port}"

    async def start(self, timeout: float = 30) -> None:
        out = self.log.open("ab")
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "watchkeeper.cli", "serve", "--host", "127.0.0.1",
            "--port", str(self.port), env=self.env, cwd=ROOT, stdout=out, stderr=out)
        out.close()
        deadline = time.monotonic() + timeout
        async with httpx.AsyncClient(timeout=2) as client:
            while time.monotonic() < deadline:
                if self.proc.returncode is not None:
                    raise RuntimeError(f"watchkeeper serve exited with {self.proc.returncode}:"
                                       f" see {self.log}")
                with contextlib.suppress(httpx.HTTPError):
                    if (await client.get(f"{self.url}/healthz")).status_code == 200:
                        return
                await asyncio.sleep(0.05)
        await self.kill()
        raise RuntimeError("watchkeeper serve did not become healthy")

    def sample_memory(self) -> int:
        """The process's peak resident memory so far (VmHWM), in KiB."""
        if self.proc is None or self.proc.returncode is not None:
            return self.peak_rss_kb
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    self.peak_rss_kb = max(self.peak_rss_kb, int(line.split()[1]))
        return self.peak_rss_kb

    async def queue(self) -> dict[str, float]:
        async with httpx.AsyncClient(timeout=5) as client:
            report = (await client.get(f"{self.url}/readyz")).json()
        return dict(report.get("queue") or {})

    async def wait_idle(self, timeout: float) -> dict[str, float]:
        """Until nothing is pending (everything done or dead-lettered)."""
        deadline = time.monotonic() + timeout
        while True:
            self.sample_memory()
            stats = await self.queue()
            if stats.get("pending", 1) == 0:
                return stats
            if time.monotonic() > deadline:
                raise TimeoutError(f"still pending after {timeout} s: {stats}")
            await asyncio.sleep(0.1)

    async def kill(self) -> None:
        """SIGKILL: no shutdown, no cleanup, as when the machine loses the process."""
        if self.proc is not None and self.proc.returncode is None:
            self.sample_memory()
            self.proc.send_signal(signal.SIGKILL)
            await self.proc.wait()

    async def stop(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.sample_memory()
            self.proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.proc.wait(), 30)
            except TimeoutError:
                await self.kill()


# --- the storm -----------------------------------------------------------------------


@dataclass(frozen=True)
class Post:
    delivery_id: str
    event: str
    body: bytes


@dataclass
class Plan:
    posts: list[Post]  # in sending order, same-ID duplicates included
    runs: dict[str, set[int]]  # repository -> its distinct failing security runs
    unique_deliveries: int = 0

    @property
    def repos(self) -> list[str]:
        return sorted(self.runs)


def _fixture(event: str, name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / event / f"{name}.json").read_text("utf-8"))
    return data


_RUN = _fixture("workflow_run", "completed.payload")


def scan_run(repo: str, run_id: int, when: str, *, conclusion: str = "failure",
             workflow: str = "Secret scan", path: str = ".github/workflows/secret-scan.yml"
             ) -> dict[str, Any]:
    """octokit's workflow_run example as a run of ``workflow`` in ``repo`` (the example has
    no ``installation``, which GitHub adds to every delivery to an App)."""
    payload = copy.deepcopy(_RUN)
    owner, name = repo.split("/", 1)
    run = payload["workflow_run"]
    run.update(id=run_id, run_attempt=1, conclusion=conclusion, updated_at=when, name=workflow,
               path=path, head_branch="master",
               html_url=f"https://github.com/{repo}/actions/runs/{run_id}")
    payload["workflow"].update(name=workflow, path=path)
    payload["repository"].update(name=name, full_name=repo, default_branch="master",
                                 private=True, html_url=f"https://github.com/{repo}")
    payload["repository"]["owner"].update(login=owner)
    payload["installation"] = {"id": INSTALLATION, "node_id": "MDIzOkludGVncmF0aW9uNw=="}
    return payload


def _irrelevant(repo: str, n: int) -> tuple[str, dict[str, Any]]:
    """Events that must cost no GitHub call: green CI runs, pushes, pings."""
    kind = n % 3
    if kind == 0:
        return "workflow_run", scan_run(repo, 9_000_000 + n, "2026-11-27T09:00:00Z",
                                        conclusion="success", workflow="CI",
                                        path=".github/workflows/ci.yml")
    if kind == 1:
        payload = _fixture("push", "payload")
        payload["installation"] = {"id": INSTALLATION}
        return "push", payload
    return "ping", _fixture("ping", "payload")


def storm_plan(*, deliveries: int = 5000, repos: int = 50, runs_per_repo: int = 20,
               replay_share: float = 0.1, duplicate_share: float = 0.1, seed: int = 8,
               prefix: str = "storm") -> Plan:
    """``deliveries`` posts: every repository's distinct failing secret-scan runs (the first
    opens its incident, the rest repeat it), replays of them under new delivery IDs, the
    same delivery sent twice, and irrelevant events for the rest, shuffled."""
    rng = random.Random(seed)
    names = [f"{ORG}/svc-{i:02d}" for i in range(repos)]
    runs: dict[str, set[int]] = {}
    failing: list[Post] = []
    for r, repo in enumerate(names):
        runs[repo] = set()
        for k in range(runs_per_repo):
            run_id = 1_000_000 + r * 1000 + k
            when = f"2026-11-27T{9 + k // 60:02d}:{k % 60:02d}:00Z"
            body = json.dumps(scan_run(repo, run_id, when)).encode()
            failing.append(Post(f"{prefix}-run-{r}-{k}", "workflow_run", body))
            runs[repo].add(run_id)
    replays = [Post(f"{prefix}-replay-{i}", p.event, p.body)
               for i, p in enumerate(rng.sample(
                   failing, min(len(failing), int(deliveries * replay_share))))]
    unique = failing + replays
    noise_count = deliveries - len(unique) - int(deliveries * duplicate_share)
    for n in range(max(0, noise_count)):
        event, payload = _irrelevant(names[n % len(names)], n)
        unique.append(Post(f"{prefix}-noise-{n}", event, json.dumps(payload).encode()))
    rng.shuffle(unique)
    posts = list(unique)
    for dup in rng.sample(unique, min(len(unique), deliveries - len(unique))):
        posts.insert(rng.randrange(posts.index(dup) + 1, len(posts) + 1), dup)
    return Plan(posts, runs, len(unique))


# --- sending -------------------------------------------------------------------------


@dataclass
class Sent:
    latencies: list[float] = field(default_factory=list)  # seconds to the answer
    status: dict[str, int] = field(default_factory=dict)  # delivery ID -> last status
    statuses: Counter[int] = field(default_factory=Counter)
    seconds: float = 0.0

    def percentile(self, q: float) -> float:
        values = sorted(self.latencies)
        return values[min(len(values) - 1, int(len(values) * q))] if values else 0.0

    @property
    def p50(self) -> float:
        return statistics.median(self.latencies) if self.latencies else 0.0


async def send(posts: Sequence[Post], url: str, secret: str, *, concurrency: int = 16,
               sent: Sent | None = None) -> Sent:
    """POST every delivery as GitHub would (signed, keep-alive connections); a connection
    error counts as status 0 (GitHub would redeliver it)."""
    sent = sent or Sent()
    queue: asyncio.Queue[Post] = asyncio.Queue()
    for post in posts:
        queue.put_nowait(post)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)

    async def worker(client: httpx.AsyncClient) -> None:
        while not queue.empty():
            post = queue.get_nowait()
            headers = {"X-GitHub-Event": post.event, "X-GitHub-Delivery": post.delivery_id,
                       "X-Hub-Signature-256": sign(secret, post.body),
                       "Content-Type": "application/json",
                       "User-Agent": "GitHub-Hookshot/storm"}
            started = time.perf_counter()
            try:
                response = await client.post(WEBHOOK_PATH, content=post.body, headers=headers)
                status = response.status_code
            except httpx.HTTPError:
                status = 0
            sent.latencies.append(time.perf_counter() - started)
            sent.status[post.delivery_id] = status
            sent.statuses[status] += 1

    started = time.perf_counter()
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=30) as client:
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
    sent.seconds += time.perf_counter() - started
    return sent


def unanswered(posts: Sequence[Post], sent: Sent) -> list[Post]:
    """Deliveries never acknowledged (no 2xx): GitHub would deliver them again."""
    seen: set[str] = set()
    out: list[Post] = []
    for post in posts:
        if sent.status.get(post.delivery_id) not in (200, 202) and post.delivery_id not in seen:
            seen.add(post.delivery_id)
            out.append(post)
    return out


# --- what GitHub ended up with -------------------------------------------------------


@dataclass
class Outcome:
    issues_per_repo: dict[str, int]
    duplicate_comments: int
    lost: list[str]  # repositories whose incident is missing or miscounted
    calls: Counter[str]

    @property
    def duplicates(self) -> int:
        return sum(n - 1 for n in self.issues_per_repo.values() if n > 1) + \
            self.duplicate_comments


def classify_call(method: str, path: str) -> str:
    """A short name for an API call, for counting."""
    if path.endswith("/access_tokens"):
        return "token"
    if "/contents/" in path:
        return "config"
    parts = path.split("/")
    tail = "/".join(p if not p.isdigit() else "N" for p in parts[4:]) if len(parts) > 4 else ""
    return f"{method} {tail or path}"


def outcome(fake: FakeGitHub, plan: Plan, occurrences: dict[str, int]) -> Outcome:
    """``occurrences``: repository -> the stored incident's occurrence count."""
    issues = {repo: len([i for i in fake.issues(repo) if "incident" in i.labels])
              for repo in plan.repos}
    dup_comments = 0
    for repo in plan.repos:
        for issue in fake.issues(repo):
            markers = [c.body.rsplit("<!-- watchkeeper:comment", 1)[-1] for c in issue.comments
                       if "<!-- watchkeeper:comment" in c.body]
            dup_comments += len(markers) - len(set(markers))
    lost = [repo for repo in plan.repos
            if issues[repo] == 0 or occurrences.get(repo) != len(plan.runs[repo])]
    calls = Counter(classify_call(r.method, r.path) for r in fake.requests)
    return Outcome(issues, dup_comments, lost, calls)


@contextlib.contextmanager
def timed() -> Iterator[list[float]]:
    box = [time.perf_counter()]
    yield box
    box.append(time.perf_counter() - box[0])
