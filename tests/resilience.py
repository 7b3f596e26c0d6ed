"""Helpers for the fault, crash and replay tests: run the queue until nothing is left,
inject a failure into the n-th writing call, and compare what GitHub ends up holding."""

from __future__ import annotations

import hashlib
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import httpx
from tests.support import INSTALLATION, REPO, SECRET, Harness, failing_secret_scan

from watchkeeper.clock import FrozenClock
from watchkeeper.github.fake import FakeGitHub
from watchkeeper.github.requester import MUTATING
from watchkeeper.settings import Settings
from watchkeeper.store.sqlite import SqliteStore
from watchkeeper.wiring import build_runtime, create_app


async def pending(store: SqliteStore) -> list[tuple[str, float, str | None]]:
    """(delivery ID, due time, last error) of every delivery not finished yet."""
    return await store._call(lambda: store._conn.execute(
        "SELECT delivery_id, available_at, last_error FROM deliveries WHERE state = 'pending'"
        " ORDER BY seq").fetchall())


async def settle(h: Harness, rounds: int = 25) -> int:
    """Process until the queue is empty, making each retry due at once (the clock stays,
    so the outcome can be compared with an undisturbed run). Returns the attempts made."""
    store = h.runtime.store
    assert isinstance(store, SqliteStore)
    attempts = 0
    for _ in range(rounds):
        async with h.runtime.gateway.session():
            attempts += await h.client_app.state.worker.run_once()
        left = await pending(store)
        if not left:
            return attempts
        now = h.clock.now().timestamp()
        for delivery_id, due, error in left:  # retried later, never dropped or spun on
            assert due > now and error, (delivery_id, due, error)
        await store._call(store._exec, "UPDATE deliveries SET available_at = ?"
                          " WHERE state = 'pending'", (now,))
    raise AssertionError(f"deliveries still pending after {rounds} rounds")


def api_path(fake: FakeGitHub, request: httpx.Request) -> str:
    """The path as the fake records it (relative to the API root, decoded)."""
    raw = request.url.raw_path.split(b"?")[0].decode("ascii")
    base = httpx.URL(fake.api_url).path.rstrip("/")
    return unquote(raw.removeprefix(base) or "/")


class FaultyGitHub(FakeGitHub):
    """The fake GitHub that fails the n-th writing call (token requests included) with
    the given fault, then behaves."""

    def __init__(self, *args: Any, at_call: int | None = None,
                 fault: dict[str, Any] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.at_call = at_call
        self.fault = fault or {}
        self.writes = 0
        self.faulted: tuple[str, str] | None = None

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.method in MUTATING:
            self.writes += 1
            if self.writes == self.at_call:
                path = api_path(self, request)
                self.faulted = (request.method, path)
                self.fail_next(request.method, re.escape(path), **self.fault)
        return await super().handle_async_request(request)


_SHA = re.compile(r"\b[0-9a-f]{40}\b")


def canonical_shas(fake: FakeGitHub, value: Any,
                   normalise: Callable[[str], str] = lambda text: text) -> str:
    """``normalise(repr(value))`` with every commit SHA replaced by a name derived from
    the commit's content (files, message, parents; normalised too): the fake numbers
    commits, so a commit created twice by a retry gets another SHA, as on GitHub, where
    the commit date differs."""
    names: dict[str, str] = {}
    for repo in fake.world.repos.values():
        def name(sha: str, repo: Any = repo) -> str:
            if sha not in names:
                parents = ",".join(name(p) for p in repo.parents.get(sha, ()))
                message = (repo.commit_meta.get(sha) or {}).get("message", "")
                content = normalise(repr((sorted(repo.commits[sha].items()), message,
                                          parents)))
                names[sha] = "commit:" + hashlib.sha256(content.encode()).hexdigest()[:12]
            return names[sha]
        for sha in repo.commits:
            name(sha)
    return _SHA.sub(lambda m: names.get(m.group(0), m.group(0)), normalise(repr(value)))


def world_state(fake: FakeGitHub) -> dict[str, Any]:
    """What people see on GitHub: labels, issues and pull requests with their text,
    comments, labels and assignees, and the files on every branch."""
    state: dict[str, Any] = {}
    for name, repo in sorted(fake.world.repos.items()):
        state[name] = {
            "labels": sorted((lb.name, lb.color, lb.description) for lb in repo.labels.values()),
            "issues": [
                (i.number, i.title, i.body, i.state, i.state_reason, sorted(i.labels),
                 sorted(i.assignees), [(c.user.login, c.body) for c in i.comments],
                 None if i.pull is None else (i.pull.head, i.pull.base, i.pull.merged,
                                              sorted(i.pull.requested_reviewers)))
                for _, i in sorted(repo.issues.items())
            ],
            "branches": {b: repo.commits[sha] for b, sha in sorted(repo.branches.items())},
            "check_runs": sorted((str(r.get("name")), str(r.get("head_sha")),
                                  str(r.get("conclusion"))) for r in repo.check_runs.values()),
        }
    return state


async def records(h: Harness) -> list[tuple[Any, ...]]:
    """The stored incidents, as far as the story decides them."""
    return [
        (i.id, i.status, i.severity, i.issue_number, i.occurrences.count,
         [(e.kind, e.actor, e.text) for e in i.timeline], sorted(i.done_keys),
         sorted(e.key for e in i.evidence), i.closure.postmortem_pr)
        for i in await h.runtime.store.list_incidents(open_only=False)
    ]


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC)


def tick(body: str, *keys: str) -> str:
    for key in keys:
        body = re.sub(rf"- \[ \](.*<!-- wk:{key} -->)", r"- [x]\1", body)
    return body


async def short_story(h: Harness, settle: Callable[[Any], Awaitable[int]] = settle) -> None:
    """Every kind of write in a few steps: the incident opens (labels, issue), a command
    and a tick (labels swapped, body edited), the failure repeats after the comment window
    (body, comment), and closing opens the postmortem pull request (Git data, pull request,
    reviewers, labels, comment). Every delivery is settled (by ``settle``) before the next
    step."""
    events = h.capture()

    async def deliver_events() -> None:
        batch, events[:] = list(events), []
        for name, payload in batch:
            assert (await h.deliver(name, payload)).status_code == 202
        await settle(h)

    h.clock.set(at(27, 9, 2))
    assert (await h.deliver("workflow_run", failing_secret_scan(),
                            delivery_id="story-1")).status_code == 202
    await settle(h)
    for login in ("alice", "bob"):
        h.fake.set_permission(REPO, login, "write")
    await deliver_events()
    h.clock.set(at(27, 9, 5))
    h.fake.person_comment(REPO, 1, "/ic @alice", login="alice")
    await deliver_events()
    h.clock.set(at(27, 9, 10))
    h.fake.person_edit_issue_body(REPO, 1, tick(h.fake.issue(REPO, 1).body or "", "assign_ic"),
                                  login="bob")
    await deliver_events()
    h.clock.set(at(27, 10, 30))
    repeat = failing_secret_scan(run_id=289782999, updated_at="2026-11-27T10:29:00Z")
    assert (await h.deliver("workflow_run", repeat, delivery_id="story-2")).status_code == 202
    await settle(h)
    await deliver_events()
    h.clock.set(at(28, 10))
    h.fake.person_close_issue(REPO, 1, login="alice")
    await deliver_events()
    await deliver_events()  # the app's own echoes: nothing further


# --- crashes -------------------------------------------------------------------------


class Crash(BaseException):
    """The process dying on the spot (SIGKILL): nothing catches it, no cleanup records
    anything, the delivery stays claimed until its lease runs out."""


class CrashingGitHub(FakeGitHub):
    """The fake GitHub that kills the app right after its n-th writing call took effect
    (before the answer arrives)."""

    def __init__(self, *args: Any, crash_at: int | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.crash_at = crash_at
        self.writes = 0
        self.crashed: tuple[str, str] | None = None

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await super().handle_async_request(request)
        if request.method in MUTATING:
            self.writes += 1
            if self.writes == self.crash_at:
                self.crashed = (request.method, api_path(self, request))
                raise Crash(f"killed after {self.crashed}")
        return response


STORE_WRITES = ("next_incident_number", "insert_incident", "save_incident", "complete",
                "retry_later", "dead_letter", "remember_event", "try_lease", "requeue")


class CrashingStore(SqliteStore):
    """A store whose process dies at its n-th write, before it (``after=False``) or once
    it committed (``after=True``)."""

    def __init__(self, path: str, *, crash_at: int | None = None, after: bool = True,
                 counter: list[int] | None = None) -> None:
        super().__init__(path)
        self.crash_at = crash_at
        self.after = after
        self.counter = counter if counter is not None else [0]
        self.crashed: str | None = None
        for name in STORE_WRITES:
            setattr(self, name, self._wrap(name, getattr(self, name)))

    def _wrap(self, name: str, method: Any) -> Any:
        async def wrapped(*args: Any, **kwargs: Any) -> Any:
            self.counter[0] += 1
            hit = self.counter[0] == self.crash_at
            if hit and not self.after:
                self.crashed = f"before {name}"
                raise Crash(self.crashed)
            result = await method(*args, **kwargs)
            if hit:
                self.crashed = f"after {name}"
                raise Crash(self.crashed)
            return result
        return wrapped


class Restartable(Harness):
    """A harness whose app can be killed and started again on the same database file."""

    settings: Any = None
    make_store: Any = None
    restarts: int = 0

    async def restart(self) -> None:
        """A new process: new store connection, runtime and app; the deliveries the dead
        one had claimed become due once their lease runs out (made due at once here)."""
        await self.runtime.store.close()
        await self.client.aclose()
        store = self.make_store()
        self.runtime = build_runtime(self.settings, store=store, transport=self.fake,
                                     clock=self.clock)
        self.client_app = create_app(self.settings, runtime=self.runtime, run_worker=False)
        self.client = httpx.AsyncClient(transport=httpx.ASGITransport(app=self.client_app),
                                        base_url="http://watchkeeper.test")
        self.restarts += 1
        await store._call(store._exec, "UPDATE deliveries SET available_at = ?, claimed_by ="
                          " NULL WHERE state = 'pending'", (self.clock.now().timestamp(),))


@asynccontextmanager
async def restartable(tmp_path: Path, fake: FakeGitHub, *, crash_store_at: int | None = None,
                      crash_store_after: bool = True) -> AsyncIterator[Restartable]:
    """Like tests.support.harness, restartable; the store may crash at its n-th write (the
    count runs on across restarts, the crash happens once)."""
    clock = FrozenClock(at(27, 9, 2))
    fake.world.now = clock.now
    if REPO.lower() not in fake.world.repos:
        fake.add_repo(REPO, installation_id=INSTALLATION, private=True, default_branch="master")
    path = str(tmp_path / "watchkeeper.db")
    settings = Settings.from_env({
        "APP_ID": str(fake.app_id), "PRIVATE_KEY": fake.private_key, "WEBHOOK_SECRET": SECRET,
        "DATABASE_URL": f"sqlite:///{path}", "MUTATION_INTERVAL": "0", "APP_SLUG": "watchkeeper",
    })
    counter = [0]
    crashing = [crash_store_at]

    def make_store() -> SqliteStore:
        store = CrashingStore(path, crash_at=crashing[0], after=crash_store_after,
                              counter=counter)
        return store

    store = make_store()
    runtime = build_runtime(settings, store=store, transport=fake, clock=clock)
    app = create_app(settings, runtime=runtime, run_worker=False)
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                               base_url="http://watchkeeper.test")
    h = Restartable(fake, runtime, client, clock)
    h.client_app, h.settings, h.make_store = app, settings, make_store
    try:
        yield h
    finally:
        await h.client.aclose()
        await h.runtime.store.close()


async def settle_through_crashes(h: Restartable) -> int:
    """`settle`, restarting the app whenever it dies."""
    for _ in range(10):
        try:
            return await settle(h)
        except Crash:
            await h.restart()
    raise AssertionError("crashed again and again")
