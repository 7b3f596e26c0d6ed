"""The database is lost: ``watchkeeper rebuild`` restores the incident records from the
incident issues' hidden metadata, timeline and evidence, and processing goes on as before —
a repeated failure joins its rebuilt incident, new incidents are numbered after the rest."""

from __future__ import annotations

import copy
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from tests.closure_story import CONFIG, opened
from tests.resilience import tick
from tests.support import INSTALLATION, REPO, failing_secret_scan, harness

from watchkeeper.github.client import GitHubGateway
from watchkeeper.github.fake import FakeGitHub
from watchkeeper.maintenance.rebuild import rebuild
from watchkeeper.record import Incident
from watchkeeper.render.issue import render_body
from watchkeeper.render.markers import extract
from watchkeeper.render.readback import REBUILT_KIND

OTHER = "octo-org/svc-1"


def in_repo(payload: dict[str, Any], repo: str) -> dict[str, Any]:
    payload = copy.deepcopy(payload)
    payload["repository"].update(full_name=repo, name=repo.split("/")[1])
    return payload


def same_record(original: Incident, rebuilt: Incident) -> None:
    """Everything the metadata carries is equal; timeline and evidence as rendered."""
    skip = {"timeline", "evidence", "version", "sla_clock", "closure", "freeze",
            "config_problems", "done_keys", "stale_sections", "sections_refreshed_at"}
    for name in Incident.__dataclass_fields__:
        if name not in skip:
            assert getattr(rebuilt, name) == getattr(original, name), name
    # As of the issue's last update: an effect recorded without re-rendering the issue
    # (a look-up that found nothing) may be missing, and is then simply done again.
    assert set(rebuilt.done_keys) <= set(original.done_keys)
    assert [(e.at, e.actor, e.text, e.url) for e in rebuilt.timeline[:-1]] == [
        (e.at.replace(second=0, microsecond=0), e.actor, e.text[:300], e.url)
        for e in sorted(original.timeline, key=lambda e: e.at)]
    assert rebuilt.timeline[-1].kind == REBUILT_KIND
    assert [(e.kind, e.title, e.url, e.identifiers) for e in rebuilt.evidence] == [
        (e.kind, e.title, e.url, e.identifiers) for e in sorted(
            original.evidence, key=lambda e: (e.at is not None, e.at))]


async def _history(tmp_path: Path, fake: FakeGitHub) -> list[Incident]:
    """Two incidents worked by people, one of them closed; returns the records."""
    async with harness(tmp_path, fake=fake) as h:
        fake.add_repo(OTHER, installation_id=INSTALLATION, default_branch="master")
        fake.set_permission(REPO, "alice", "write")
        events = h.capture()
        await h.deliver("workflow_run", failing_secret_scan())
        await h.drain()
        h.clock.advance(180)
        fake.person_comment(REPO, 1, "/ic @alice", login="alice")
        await h.deliver_all(events)
        h.clock.advance(120)
        fake.person_edit_issue_body(REPO, 1, tick(fake.issue(REPO, 1).body or "", "assign_ic"),
                                    login="alice")
        await h.deliver_all(events)
        h.clock.advance(600)
        await h.deliver("workflow_run", failing_secret_scan(
            run_id=289782999, updated_at="2026-11-27T09:14:00Z"))
        await h.drain()
        await h.deliver("workflow_run", in_repo(failing_secret_scan(run_id=5), OTHER))
        await h.drain()
        h.clock.advance(600)
        fake.person_close_issue(OTHER, 1, login="octocat", reason="not_planned")
        await h.deliver_all(events)
        fake.on_event = None
        return await h.runtime.store.list_incidents(open_only=False)


async def test_the_records_come_back_from_the_issues(tmp_path: Path) -> None:
    fake = FakeGitHub(app_id=4242, app_slug="watchkeeper")
    (tmp_path / "before").mkdir()
    originals = await _history(tmp_path / "before", fake)
    assert [i.status for i in originals] == ["acknowledged", "closed"]
    (tmp_path / "after").mkdir()
    async with harness(tmp_path / "after", fake=fake,
                       now=datetime(2026, 11, 27, 10, 0, tzinfo=UTC)) as h:
        assert await h.runtime.store.list_incidents(open_only=False) == []  # lost
        report = await rebuild(h.runtime.gateway, h.runtime.store, h.clock.now())
        assert report.restored == ["INC-2026-0001", "INC-2026-0002"]
        assert report.unreadable == [] and report.conflicts == [] and report.counter == 2
        rebuilt = {i.id: i for i in await h.runtime.store.list_incidents(open_only=False)}
        for original in originals:
            same_record(original, rebuilt[original.id])
        assert rebuilt["INC-2026-0001"].roles == (("incident_commander", "alice"),)
        assert rebuilt["INC-2026-0001"].occurrences.count == 2

        # Again: nothing to do.
        again = await rebuild(h.runtime.gateway, h.runtime.store, h.clock.now())
        assert again.restored == [] and again.present == ["INC-2026-0001", "INC-2026-0002"]

        # Processing goes on: a repeat joins, its issue keeps its history.
        before = fake.issue(REPO, 1).body or ""
        h.clock.advance(60)
        await h.deliver("workflow_run", failing_secret_scan(
            run_id=289783111, updated_at="2026-11-27T10:00:00Z"))
        await h.drain()
        assert len(fake.issues(REPO)) == 1
        body = fake.issue(REPO, 1).body or ""
        old_rows = [row for row in (extract(before, "timeline") or "").splitlines()
                    if row.startswith("| 2026")]
        new_rows = (extract(body, "timeline") or "").splitlines()
        assert old_rows and all(row in new_rows for row in old_rows)
        assert "Occurred again (occurrence 3)" in body
        assert "Incident record rebuilt from this issue" in body
        record = await h.runtime.store.incident_for_issue(REPO, 1)
        assert record is not None and record.occurrences.count == 3

        # The latest event replayed is still recognised (its key was kept).
        await h.deliver("workflow_run", failing_secret_scan(
            run_id=289783111, updated_at="2026-11-27T10:00:00Z"))
        await h.drain()
        assert (await h.runtime.store.incident_for_issue(REPO, 1)).occurrences.count == 3  # type: ignore[union-attr]

        # A new failure gets the next number, not a reused one.
        fake.add_repo("octo-org/svc-2", installation_id=INSTALLATION)
        await h.deliver("workflow_run", in_repo(failing_secret_scan(run_id=7), "octo-org/svc-2"))
        await h.drain()
        [issue] = fake.issues("octo-org/svc-2")
        assert issue.title.startswith("[INC-2026-0003]")
        # The closed incident's failure again: a new incident linked to the old one.
        await h.deliver("workflow_run", in_repo(failing_secret_scan(
            run_id=8, updated_at="2026-11-27T10:01:00Z"), OTHER))
        await h.drain()
        assert [i.title[:16] for i in fake.issues(OTHER)] == ["[INC-2026-0002] ",
                                                                "[INC-2026-0004] "]


async def test_issues_without_readable_metadata_are_reported(tmp_path: Path) -> None:
    fake = FakeGitHub(app_id=4242, app_slug="watchkeeper")
    async with harness(tmp_path, fake=fake) as h:
        fake.person_open_issue(REPO, "Looks like an incident", "no metadata here",
                               labels=["incident"])
        await h.deliver("workflow_run", failing_secret_scan())
        await h.drain()
        body = fake.issue(REPO, 2).body or ""
        fake.issue(REPO, 2).body = re.sub(r"watchkeeper:meta \{", "watchkeeper:meta {{", body)
        report = await rebuild(h.runtime.gateway, h.runtime.store, h.clock.now(), dry_run=True)
        assert report.unreadable == [f"{REPO}#1", f"{REPO}#2"]
        assert report.restored == []


def test_the_command_restores_and_says_what_is_lost(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import asyncio

    from benchmarks.storm_common import FakeServer, free_port, make_fake, serve_env

    from watchkeeper.cli import main

    port = free_port()
    fake = make_fake(port, [REPO])
    with FakeServer(fake, port):
        original = asyncio.run(_history_over_http(tmp_path, fake))
        env = serve_env(fake, database_url=f"sqlite:///{tmp_path / 'new.db'}", secret="s")
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        assert main(["rebuild"]) == 0
    out = capsys.readouterr().out
    assert "restored INC-2026-0001" in out and "not recoverable from GitHub:" in out
    assert "new incidents are numbered after 1" in out
    assert original


async def _history_over_http(tmp_path: Path, fake: FakeGitHub) -> list[Incident]:
    """An incident issue written over HTTP to the served fake, as serve would open it."""
    gateway = GitHubGateway(fake.app_id, fake.private_key, fake.api_url, mutation_interval=0)
    incident = opened()
    body = render_body(incident, CONFIG, incident.recorded_at)
    async with gateway.session():
        await gateway.create_issue(INSTALLATION, REPO, "[INC-2026-0001] x", body,
                                   labels=["incident"])
    return [incident]
