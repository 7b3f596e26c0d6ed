"""GitHub failing under Watchkeeper: 5xx, timeouts, primary and secondary rate limits,
tokens revoked, the app uninstalled. Every delivery is processed in the end, and GitHub
ends up exactly as in an undisturbed run: no duplicate issue, comment, label change or
pull request — even when a call took effect and its answer was lost."""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.resilience import (
    FaultyGitHub,
    canonical_shas,
    pending,
    records,
    settle,
    short_story,
    world_state,
)
from tests.support import INSTALLATION, REPO, failing_secret_scan, harness

from watchkeeper.clock import FrozenClock
from watchkeeper.errors import PermanentError, RetryableError
from watchkeeper.github.auth import AppCredentials
from watchkeeper.github.fake import FakeGitHub
from watchkeeper.github.requester import Requester

SECONDARY = {"message": "You have exceeded a secondary rate limit. Please wait a few minutes "
             "before you try again.", "documentation_url": "https://docs.github.com/rest"}


def _primary() -> dict[str, Any]:
    reset = str(int(time.time()) + 120)
    return {"status": 403, "headers": {"x-ratelimit-remaining": "0",
                                       "x-ratelimit-reset": reset},
            "json": {"message": "API rate limit exceeded for installation ID 7."}}


# A call that took effect and still failed: the answer never arrives or says 5xx.
AFTER: list[tuple[str, dict[str, Any]]] = [
    ("502 after the write", {"status": 502, "after": True}),
    ("timeout after the write", {"status": 0, "exc": httpx.ReadTimeout, "after": True}),
    ("500 after the write", {"status": 500, "after": True}),
    ("503 after the write", {"status": 503, "after": True}),
]
# Refused before anything happened.
BEFORE: list[tuple[str, dict[str, Any]]] = [
    ("500", {"status": 500}),
    ("connect timeout", {"status": 0, "exc": httpx.ConnectTimeout}),
    ("primary rate limit", {}),  # filled per run: the reset time is the wall clock's
    ("secondary limit 403 + retry-after",
     {"status": 403, "headers": {"retry-after": "60"}, "json": SECONDARY}),
    ("secondary limit 429 + retry-after", {"status": 429, "headers": {"retry-after": "30"}}),
    ("503", {"status": 503}),
]


def _fake(**kwargs: Any) -> FaultyGitHub:
    clock = FrozenClock()
    return FaultyGitHub(app_id=4242, app_slug="watchkeeper", clock=clock.now, **kwargs)


async def _run_story(tmp_path: Path, fake: FakeGitHub) -> str:
    tmp_path.mkdir()
    async with harness(tmp_path, fake=fake) as h:
        fake.world.now = h.clock.now  # the fake's timestamps follow the story's clock
        await short_story(h)
        assert await pending(h.runtime.store) == []  # type: ignore[arg-type]
        dead = await h.runtime.store.dead_letters()
        assert dead == [], dead
        return canonical_shas(fake, (world_state(fake), await records(h)))


async def _every_write_faulted(tmp_path: Path, kinds: list[tuple[str, dict[str, Any]]]
                               ) -> None:
    baseline_fake = _fake()
    expected = await _run_story(tmp_path / "baseline", baseline_fake)
    writes = baseline_fake.writes
    assert writes >= 20  # labels, issue, label swaps, edits, comments, Git data, pull request
    for n in range(1, writes + 1):
        name, fault = kinds[n % len(kinds)]
        fault = fault or _primary()
        fake = _fake(at_call=n, fault=fault)
        got = await _run_story(tmp_path / f"run-{n}", fake)
        assert fake.faulted is not None, (n, name)
        assert got == expected, f"write {n} {fake.faulted} failed with {name}"


async def test_a_write_that_took_effect_and_failed_is_never_repeated(tmp_path: Path) -> None:
    """The nastiest case, on every write of the story in turn."""
    await _every_write_faulted(tmp_path, AFTER)


async def test_a_refused_write_is_retried_until_it_lands_once(tmp_path: Path) -> None:
    await _every_write_faulted(tmp_path, BEFORE)


@pytest.mark.parametrize(("fault", "wait"), [
    ({"status": 403, "headers": {"retry-after": "60"}, "json": SECONDARY}, 60.0),
    ({"status": 429, "headers": {"retry-after": "30"}}, 30.0),
    ({"status": 403, "json": SECONDARY}, 60.0),  # no header: at least a minute
    ({"status": 502}, 2.0),  # the worker's own backoff
])
async def test_the_retry_waits_as_long_as_github_asks(tmp_path: Path, fault: dict[str, Any],
                                                      wait: float) -> None:
    async with harness(tmp_path) as h:
        h.fake.fail_next("POST", rf"/repos/{REPO}/issues", **fault)
        await h.deliver("workflow_run", failing_secret_scan(), delivery_id="d-1")
        await h.drain()
        [(delivery_id, due, error)] = await pending(h.runtime.store)  # type: ignore[arg-type]
        assert delivery_id == "d-1" and error
        assert due - h.clock.now().timestamp() == pytest.approx(wait, abs=1)


async def test_a_primary_rate_limit_waits_until_the_reset(tmp_path: Path) -> None:
    async with harness(tmp_path) as h:
        fault = _primary()
        reset = int(fault["headers"]["x-ratelimit-reset"])
        h.fake.fail_next("GET", rf"/repos/{REPO}/labels", **fault)
        await h.deliver("workflow_run", failing_secret_scan(), delivery_id="d-1")
        await h.drain()
        [(_, due, error)] = await pending(h.runtime.store)  # type: ignore[arg-type]
        assert "rate limited" in error
        # The wait is the reset (wall clock) minus now, counted from the worker's clock.
        assert due - h.clock.now().timestamp() == pytest.approx(reset - time.time(), abs=3)


async def test_a_revoked_token_is_replaced_mid_run(tmp_path: Path) -> None:
    async with harness(tmp_path) as h:
        await h.deliver("workflow_run", failing_secret_scan(), delivery_id="d-1")
        await settle(h)
        assert h.fake.tokens_issued == 1
        h.fake.revoke_tokens(INSTALLATION)
        h.clock.advance(120)
        mark = len(h.fake.requests)
        await h.deliver("workflow_run", failing_secret_scan(run_id=2, updated_at=(
            "2026-11-27T09:03:00Z")), delivery_id="d-2")
        assert await settle(h) == 1  # in one attempt
        assert h.fake.tokens_issued == 2
        state = await h.runtime.store.delivery_state("d-2")
        assert state is not None and state.state == "done"
        # One call was refused (401), a new token fetched, that call repeated; no more.
        after = h.fake.requests[mark:]
        refused = [r for r in after if r.installation_id is None]
        assert len(refused) == 1
        i = after.index(refused[0])
        assert after[i + 1].path == f"/app/installations/{INSTALLATION}/access_tokens"
        assert (after[i + 2].method, after[i + 2].path) == (refused[0].method, refused[0].path)
        assert len(h.fake.calls("PATCH", rf"/repos/{REPO}/issues/1")) == 1


async def test_an_expired_token_is_replaced(tmp_path: Path) -> None:
    """The client refreshes tokens a minute before they expire; one that GitHub already
    considers expired (clock skew) is refused once and refetched."""
    async with harness(tmp_path) as h:
        await h.deliver("workflow_run", failing_secret_scan(), delivery_id="d-1")
        await settle(h)
        past = datetime.now(UTC) - timedelta(seconds=1)
        h.fake._tokens = {token: (owner, past) for token, (owner, _) in h.fake._tokens.items()}
        h.clock.advance(120)
        await h.deliver("workflow_run", failing_secret_scan(run_id=2, updated_at=(
            "2026-11-27T09:03:00Z")), delivery_id="d-2")
        assert await settle(h) == 1
        assert h.fake.tokens_issued == 2
        state = await h.runtime.store.delivery_state("d-2")
        assert state is not None and state.state == "done"
        assert len(h.fake.issues(REPO)) == 1


async def test_an_uninstalled_app_dead_letters_at_once_without_a_retry_storm(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    async with harness(tmp_path) as h:
        await h.deliver("workflow_run", failing_secret_scan(), delivery_id="d-1")
        await settle(h)
        h.fake.remove_installation(INSTALLATION)
        mark = len(h.fake.requests)
        caplog.set_level(logging.ERROR, "watchkeeper.worker")
        for n in range(3):
            h.clock.advance(120)
            await h.deliver("workflow_run", failing_secret_scan(run_id=10 + n, updated_at=(
                f"2026-11-27T09:1{n}:00Z")), delivery_id=f"after-{n}")
        await h.drain()
        for n in range(3):
            state = await h.runtime.store.delivery_state(f"after-{n}")
            assert state is not None and state.state == "dead" and state.attempts == 1
            assert "installation not found" in (state.last_error or "")
        # Per delivery: the refused call and one token request, nothing more.
        assert len(h.fake.requests) - mark <= 3 * 3
        assert sum("DEAD LETTER" in r.getMessage() for r in caplog.records) == 3


# --- pacing --------------------------------------------------------------------------


class _Clock:
    """Monotonic time that only the fake sleep moves."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)


async def test_writes_are_serial_per_installation_and_a_second_apart() -> None:
    fake = FakeGitHub(app_id=4242)
    fake.add_repo("acme/one", installation_id=1)
    fake.add_repo("acme/two", installation_id=2)
    t = _Clock()
    in_flight: dict[int | None, int] = {}
    backlog: list[int] = []
    log: list[tuple[float, int | None, str]] = []

    class Watching(httpx.AsyncBaseTransport):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            owner = fake._token_owner(request)
            if request.method != "GET" and "/access_tokens" not in request.url.path:
                in_flight[owner] = in_flight.get(owner, 0) + 1
                assert in_flight[owner] == 1, "two writes at once for one installation"
                log.append((t.now, owner, request.url.path))
                backlog.append(requester.write_backlog(owner))
                await asyncio.sleep(0)  # let any other task try to overlap
                response = await fake.handle_async_request(request)
                t.now += 0.05  # the call itself takes a little while
                in_flight[owner] -= 1
                return response
            return await fake.handle_async_request(request)

    requester = Requester(AppCredentials(fake.app_id, fake.private_key), fake.api_url,
                          transport=Watching(), mutation_interval=1.0, sleep=t.sleep,
                          monotonic=lambda: t.now)

    async def comments(installation: int, repo: str, n: int) -> None:
        for i in range(n):
            await requester.request(installation, "POST", f"/repos/{repo}/issues",
                                    json={"title": f"t{i}"})

    await asyncio.gather(comments(1, "acme/one", 30), comments(1, "acme/one", 30),
                         comments(2, "acme/two", 30))
    for installation in (1, 2):
        times = [at for at, owner, _ in log if owner == installation]
        assert len(times) == (60 if installation == 1 else 30)
        gaps = [b - a for a, b in itertools.pairwise(times)]
        assert min(gaps) >= 1.0 - 1e-9  # at least a second between writes
        per_minute = max(sum(1 for x in times if start <= x < start + 60) for start in times)
        assert per_minute < 80  # GitHub's content-creation limit
        assert per_minute <= 60
    # The two writers of installation 1 queue behind each other; that is what deferrable
    # updates look at. Nothing is left waiting afterwards.
    assert max(backlog) == 1 and requester.write_backlog(1) == 0
    # Installations do not wait for each other: both started at once.
    assert [owner for _, owner, _ in log[:2]] in ([1, 2], [2, 1])


async def test_reads_are_not_paced() -> None:
    fake = FakeGitHub(app_id=4242)
    fake.add_repo("acme/one", installation_id=1)
    t = _Clock()
    requester = Requester(AppCredentials(fake.app_id, fake.private_key), fake.api_url,
                          transport=fake, mutation_interval=1.0, sleep=t.sleep,
                          monotonic=lambda: t.now)
    for _ in range(5):
        await requester.request(1, "GET", "/repos/acme/one")
    assert t.sleeps == []


def test_failure_kinds_map_to_what_the_worker_does() -> None:
    """The errors the faults above produce: retry (with a wait) or dead-letter."""
    from watchkeeper.github.failures import failure_for

    def failure(status: int, headers: dict[str, str] | None = None,
                body: Any = None) -> Exception:
        return failure_for(httpx.Response(status, headers=headers, json=body or {}), "POST /x",
                           1000.0)

    assert isinstance(failure(502), RetryableError)
    limited = failure(403, {"x-ratelimit-remaining": "0", "x-ratelimit-reset": "1090"})
    assert isinstance(limited, RetryableError) and limited.retry_after == 90
    secondary = failure(403, body=SECONDARY)
    assert isinstance(secondary, RetryableError) and secondary.retry_after == 60
    assert isinstance(failure(403, body={"message": "Resource not accessible by integration"}),
                      PermanentError)
    assert isinstance(failure(404), PermanentError)
