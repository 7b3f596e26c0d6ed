"""Repeats coalesced: a burst of the same failure updates the record at once and the issue
once — one read and one write for the whole burst — after the window; an isolated repeat
still shows at once, and a due occurrence comment brings the sections along."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

from tests.support import INSTALLATION, REPO, failing_secret_scan, harness

from watchkeeper.features.refresh import refresh_pass
from watchkeeper.incident import COALESCE_WINDOW, refresh_stale
from watchkeeper.render.markers import extract
from watchkeeper.runbook.config import default_config

ISSUE = rf"/repos/{REPO}/issues/1"


def repeat(n: int) -> dict[str, object]:
    return failing_secret_scan(run_id=289790000 + n, updated_at=f"2026-11-27T09:02:{n:02d}Z")


async def test_a_burst_of_repeats_is_one_body_update(tmp_path: Path) -> None:
    async with harness(tmp_path) as h:
        await h.deliver("workflow_run", failing_secret_scan())
        await h.drain()
        for n in range(1, 21):
            h.clock.advance(1)
            await h.deliver("workflow_run", repeat(n))
        await h.drain()
        assert h.fake.calls("PATCH", ISSUE) == [] and h.fake.calls("GET", ISSUE) == []
        [incident] = await h.runtime.store.list_incidents()
        assert incident.occurrences.count == 21
        assert incident.stale_sections == ("summary", "evidence", "timeline", "meta")

        assert await refresh_pass(h.runtime) == []  # the window has not passed yet
        h.clock.advance(COALESCE_WINDOW)
        assert await refresh_pass(h.runtime) == ["INC-2026-0001"]
        assert len(h.fake.calls("GET", ISSUE)) == 1 and len(h.fake.calls("PATCH", ISSUE)) == 1
        body = h.fake.issue(REPO, 1).body or ""
        assert "| Occurrences | 21 (latest 2026-11-27 09:02 UTC" in (extract(body, "summary")
                                                                     or "")
        rows = re.findall(r"Occurred again \(occurrence (\d+)\)", extract(body, "timeline") or "")
        assert rows == [str(n) for n in range(2, 22)]
        [incident] = await h.runtime.store.list_incidents()
        assert incident.stale_sections == ()
        assert await refresh_pass(h.runtime) == []  # nothing left: no call
        assert len(h.fake.calls("GET", ISSUE)) == 1


async def test_an_isolated_repeat_shows_at_once(tmp_path: Path) -> None:
    async with harness(tmp_path) as h:
        await h.deliver("workflow_run", failing_secret_scan())
        await h.drain()
        h.clock.advance(COALESCE_WINDOW)
        await h.deliver("workflow_run", repeat(1))
        await h.drain()
        assert len(h.fake.calls("PATCH", ISSUE)) == 1
        [incident] = await h.runtime.store.list_incidents()
        assert incident.stale_sections == () and incident.sections_refreshed_at == h.clock.now()


async def test_a_due_comment_brings_the_stale_sections_along(tmp_path: Path) -> None:
    async with harness(tmp_path) as h:
        await h.deliver("workflow_run", failing_secret_scan())
        await h.drain()
        h.clock.advance(timedelta(minutes=59, seconds=50))
        await h.deliver("workflow_run", repeat(1))  # coalesced: the last refresh was... never
        await h.drain()
        h.clock.advance(15)  # the hour since opening has passed: a comment is due
        await h.deliver("workflow_run", repeat(2))
        await h.drain()
        assert len(h.fake.calls("POST", rf"{ISSUE}/comments")) == 1
        assert len(h.fake.calls("PATCH", ISSUE)) == 2
        [incident] = await h.runtime.store.list_incidents()
        assert incident.stale_sections == () and incident.occurrences.count == 3
        assert "Occurred again (occurrence 3)" in (h.fake.issue(REPO, 1).body or "")


def test_refresh_stale_waits_for_the_window() -> None:
    from tests.closure_story import opened

    config = default_config()
    incident = opened().replace(stale_sections=("timeline", "summary"))
    start = incident.recorded_at
    assert refresh_stale(incident, config, start + timedelta(seconds=29)).actions == ()
    decision = refresh_stale(incident, config, start + COALESCE_WINDOW)
    [action] = decision.actions
    assert [name for name, _ in action.sections] == ["summary", "timeline"]  # issue order
    assert decision.incident is not None and decision.incident.stale_sections == ()
    assert refresh_stale(opened(), config, start + timedelta(hours=1)).actions == ()


async def test_an_uninstalled_app_does_not_retry_the_refresh_forever(tmp_path: Path) -> None:
    async with harness(tmp_path) as h:
        await h.deliver("workflow_run", failing_secret_scan())
        await h.drain()
        await h.deliver("workflow_run", repeat(1))
        await h.drain()
        h.fake.remove_installation(INSTALLATION)
        h.clock.advance(COALESCE_WINDOW)
        assert await refresh_pass(h.runtime) == []
        [incident] = await h.runtime.store.list_incidents()
        assert incident.stale_sections == ()  # given up, said so in the log
        mark = len(h.fake.requests)
        h.clock.advance(COALESCE_WINDOW)
        assert await refresh_pass(h.runtime) == [] and h.fake.requests[mark:] == []


async def test_while_deliveries_wait_the_refresh_waits_too(tmp_path: Path) -> None:
    from watchkeeper.features.refresh import MAX_STALE

    async with harness(tmp_path) as h:
        await h.deliver("workflow_run", failing_secret_scan())
        await h.drain()
        await h.deliver("workflow_run", repeat(1))
        await h.drain()
        await h.deliver("workflow_run", repeat(2))  # the burst goes on: one is waiting
        h.clock.advance(COALESCE_WINDOW)
        assert await refresh_pass(h.runtime) == []
        h.clock.advance(MAX_STALE)
        assert await refresh_pass(h.runtime) == ["INC-2026-0001"]  # waited long enough


async def test_a_repeat_waits_while_the_installations_writes_queue_up(tmp_path: Path) -> None:
    async with harness(tmp_path) as h:
        await h.deliver("workflow_run", failing_secret_scan())
        await h.drain()
        h.clock.advance(COALESCE_WINDOW)
        queued = {"writes": 3}
        h.runtime.gateway.write_backlog = lambda installation: queued["writes"]  # type: ignore[method-assign]
        await h.deliver("workflow_run", repeat(1))
        await h.drain()
        assert h.fake.calls("PATCH", ISSUE) == []  # the openings and comments go first
        [incident] = await h.runtime.store.list_incidents()
        assert incident.occurrences.count == 2 and incident.stale_sections
        queued["writes"] = 0
        h.clock.advance(COALESCE_WINDOW)
        assert await refresh_pass(h.runtime) == ["INC-2026-0001"]
        assert len(h.fake.calls("PATCH", ISSUE)) == 1
        assert "Occurred again (occurrence 2)" in (h.fake.issue(REPO, 1).body or "")
