"""Helpers for the fault, crash and replay tests: run the queue until nothing is left,
inject a failure into the n-th writing call, and compare what GitHub ends up holding."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote

import httpx
from tests.support import REPO, Harness, failing_secret_scan

from watchkeeper.github.fake import FakeGitHub
from watchkeeper.github.requester import MUTATING
from watchkeeper.store.sqlite import SqliteStore


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


def canonical_shas(fake: FakeGitHub, value: Any) -> str:
    """``repr(value)`` with every commit SHA replaced by a name derived from the commit's
    content (files, message, parents): the fake numbers commits, so a commit created twice
    by a retry gets another SHA, as on GitHub, where the commit date differs."""
    names: dict[str, str] = {}
    for repo in fake.world.repos.values():
        def name(sha: str, repo: Any = repo) -> str:
            if sha not in names:
                parents = ",".join(name(p) for p in repo.parents.get(sha, ()))
                message = (repo.commit_meta.get(sha) or {}).get("message", "")
                content = repr((sorted(repo.commits[sha].items()), message, parents))
                names[sha] = "commit:" + hashlib.sha256(content.encode()).hexdigest()[:12]
            return names[sha]
        for sha in repo.commits:
            name(sha)
    return _SHA.sub(lambda m: names.get(m.group(0), m.group(0)), repr(value))


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


async def short_story(h: Harness) -> None:
    """Every kind of write in a few steps: the incident opens (labels, issue), a command
    and a tick (labels swapped, body edited), the failure repeats after the comment window
    (body, comment), and closing opens the postmortem pull request (Git data, pull request,
    reviewers, labels, comment). Every delivery is settled before the next step."""
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
