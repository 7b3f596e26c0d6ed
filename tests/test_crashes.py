"""The process killed at any point — after any write to GitHub took effect, before or after
any write to the store — then started again on the same SQLite file: nothing is lost and
nothing is done twice. GitHub and the incident records end up exactly as in a run that was
never interrupted."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

from tests.resilience import (
    Crash,
    CrashingGitHub,
    canonical_shas,
    records,
    restartable,
    settle_through_crashes,
    short_story,
    world_state,
)
from tests.support import REPO, failing_secret_scan

from watchkeeper.clock import FrozenClock

ISSUES = rf"/repos/{REPO}/issues"


def _fake(crash_at: int | None = None) -> CrashingGitHub:
    return CrashingGitHub(app_id=4242, app_slug="watchkeeper", clock=FrozenClock().now,
                          crash_at=crash_at)


async def _story(tmp_path: Path, fake: CrashingGitHub, **store: Any) -> tuple[str, int, int]:
    """(what GitHub and the store hold, restarts, store writes)."""
    tmp_path.mkdir()
    async with restartable(tmp_path, fake, **store) as h:
        await short_story(h, settle_through_crashes)
        assert await h.runtime.store.dead_letters() == []
        # A number taken from the counter by a process that then died is skipped: a gap
        # in the IDs, never a duplicate. Compare IDs by their order.
        ids = [i.id for i in await h.runtime.store.list_incidents(open_only=False)]

        def by_order(text: str) -> str:
            for n, incident_id in enumerate(ids, 1):
                text = text.replace(incident_id, f"<incident {n}>")
            return text

        state = canonical_shas(fake, (world_state(fake), await records(h)), by_order)
        return state, h.restarts, h.runtime.store.counter[0]  # type: ignore[attr-defined]


async def test_killed_after_any_write_to_github(tmp_path: Path) -> None:
    """Incl. between "issue created" and "record saved": the restarted app finds the
    issue through its hidden marker instead of opening another."""
    baseline = _fake()
    expected, restarts, _ = await _story(tmp_path / "baseline", baseline)
    assert restarts == 0
    for n in range(1, baseline.writes + 1):
        fake = _fake(crash_at=n)
        got, restarts, _ = await _story(tmp_path / f"github-{n}", fake)
        assert restarts == 1, n
        assert got == expected, f"killed after write {n}: {fake.crashed}"


async def test_killed_before_or_after_any_write_to_the_store(tmp_path: Path) -> None:
    """Dying before write n is dying after write n - 1 (or after a GitHub write, above),
    so "before" is only tried for the first."""
    expected, _, writes = await _story(tmp_path / "baseline", _fake())
    assert writes >= 30
    for n, after in [(1, False), *((n, True) for n in range(1, writes + 1))]:
        got, restarts, _ = await _story(tmp_path / f"store-{n}-{after}", _fake(),
                                        crash_store_at=n, crash_store_after=after)
        assert restarts == 1, (n, after)
        assert got == expected, f"killed {'after' if after else 'before'} store write {n}"


async def test_between_issue_created_and_record_saved(tmp_path: Path) -> None:
    """The case spelled out: POST /issues took effect, the process died before the record
    learnt the issue number. After the restart the stored record still has no issue; the
    pipeline plans the opening again and the executor finds the issue by its marker."""
    fake = _fake()
    async with restartable(tmp_path, fake) as h:
        original = fake.handle_async_request
        crashed = False

        async def crash_after_create(request: Any) -> Any:
            nonlocal crashed
            response = await original(request)
            if request.method == "POST" and request.url.path.endswith("/issues") \
                    and not crashed:
                crashed = True
                raise Crash("killed after POST /issues")
            return response

        fake.handle_async_request = crash_after_create  # type: ignore[method-assign]
        await h.deliver("workflow_run", failing_secret_scan(), delivery_id="d-1")
        with contextlib.suppress(Crash):
            await h.drain()
        assert crashed and len(fake.issues(REPO)) == 1
        [record] = await h.runtime.store.list_incidents()
        assert record.issue_number is None  # the answer never reached the record

        await h.restart()
        mark = len(fake.requests)
        await settle_through_crashes(h)
        assert len(fake.issues(REPO)) == 1
        assert len(fake.calls("POST", ISSUES)) == 1
        lookups = [r for r in fake.requests[mark:] if r.path == ISSUES and r.method == "GET"]
        assert [r.query.get("labels") for r in lookups] == ["incident"]
        [record] = await h.runtime.store.list_incidents()
        assert record.issue_number == 1
        state = await h.runtime.store.delivery_state("d-1")
        assert state is not None and state.state == "done" and state.attempts == 2
