"""End to end: the deployment freeze as `watchkeeper/freeze` check runs on pull requests —
started by `/freeze`, the ticked checklist item or the configured severity; lifted by
`/unfreeze`, containment or closure; refused to people without write access."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tests.evidence_support import pull_request
from tests.support import REPO, Harness, failing_secret_scan, harness

from watchkeeper.github.fake import FakeGitHub
from watchkeeper.record import Incident

CHECK = "watchkeeper/freeze"


def checks(fake: FakeGitHub) -> dict[str, tuple[str, str]]:
    """head SHA -> (conclusion, output title) of the latest freeze check run on it."""
    found: dict[str, tuple[str, str]] = {}
    for _, run in sorted(fake.repo(REPO).check_runs.items()):
        if run.get("name") == CHECK:
            found[str(run["head_sha"])] = (str(run["conclusion"]), run["output"]["title"])
    return found


def open_pr(fake: FakeGitHub, branch: str, title: str, body: str = "") -> tuple[int, str]:
    fake.create_branch(REPO, branch)
    sha = fake.set_file(REPO, f"{branch}.txt", branch, branch=branch)
    return fake.person_open_pr(REPO, head=branch, title=title, body=body), sha


async def deliver_events(h: Harness, events: list[tuple[str, dict[str, Any]]]) -> None:
    for event, payload in events:
        assert (await h.deliver(event, payload)).status_code == 202
    events.clear()
    await h.drain()


async def opened_incident(h: Harness) -> None:
    assert (await h.deliver("workflow_run", failing_secret_scan())).status_code == 202
    await h.drain()


async def edit_record(h: Harness, number: int = 1, **changes: Any) -> Incident:
    """What another feature stores (a tick, a milestone, the closed status)."""
    incident = await h.runtime.store.incident_for_issue(REPO, number)
    assert incident is not None
    changed = dataclasses.replace(incident, version=incident.version + 1, **changes)
    assert await h.runtime.store.save_incident(changed)
    return changed


async def test_freeze_and_unfreeze_commands(tmp_path: Path) -> None:
    async with harness(tmp_path) as h:
        fake, events = h.fake, []
        fake.on_event = lambda name, payload: events.append((name, payload))
        await opened_incident(h)
        events.clear()
        _, risky = open_pr(fake, "feature/search", "Add search")
        _, fix = open_pr(fake, "fix/rotate", "Rotate the key", "Part of INC-2026-0001")
        events.clear()  # the pull requests predate the freeze

        fake.set_permission(REPO, "reader", "read")
        fake.person_comment(REPO, 1, "/freeze", login="reader")
        await deliver_events(h, events)
        assert checks(fake) == {}
        refusal = fake.issue(REPO, 1).comments[-1].body
        assert "only people with write, maintain or admin permission" in refusal
        assert "`/freeze`" in refusal

        fake.set_permission(REPO, "alice", "write")
        fake.person_comment(REPO, 1, "Bad release going out.\n/freeze until the key is rotated",
                            login="alice")
        await deliver_events(h, events)
        assert checks(fake) == {
            risky: ("failure", "Deployment freeze: incident INC-2026-0001"),
            fix: ("success", "Fix for incident INC-2026-0001: allowed during the freeze"),
        }
        incident = await h.runtime.store.incident_for_issue(REPO, 1)
        assert incident is not None and incident.freeze.active
        assert incident.freeze.by == "alice"
        assert {c.sha for c in incident.freeze.checks} == {risky, fix}
        assert all(c.check_run_id for c in incident.freeze.checks)
        entry = [e for e in incident.timeline if e.kind == "freeze"][-1]
        assert entry.actor == "alice"
        assert entry.text.startswith("Deployment freeze started (/freeze by alice: until the key "
                                     "is rotated): merges to master in octo-org/octo-repo are "
                                     "blocked by the watchkeeper/freeze check on 2 open pull")
        assert "required status check" in fake.issue(REPO, 1).comments[-1].body

        # A new pull request during the freeze is blocked too; the same command again is not
        # a second freeze.
        _, late = open_pr(fake, "feature/late", "Late feature")
        fake.person_comment(REPO, 1, "/freeze", login="alice")
        await deliver_events(h, events)
        assert checks(fake)[late] == ("failure", "Deployment freeze: incident INC-2026-0001")
        assert "already frozen" in fake.issue(REPO, 1).comments[-1].body
        runs = len(fake.repo(REPO).check_runs)

        fake.person_comment(REPO, 1, "/unfreeze", login="alice")
        await deliver_events(h, events)
        assert {sha: c for sha, (c, _) in checks(fake).items()} == {
            risky: "neutral", fix: "neutral", late: "neutral"}
        assert len(fake.repo(REPO).check_runs) == runs  # updated in place, none added
        incident = await h.runtime.store.incident_for_issue(REPO, 1)
        assert incident is not None and not incident.freeze.active
        assert [e.text for e in incident.timeline if e.kind == "freeze"][-1] == (
            "Deployment freeze lifted (/unfreeze by alice): the watchkeeper/freeze check "
            "updated on 3 open pull request(s)")


async def test_the_ticked_freeze_item_freezes_and_containment_lifts(tmp_path: Path) -> None:
    async with harness(tmp_path) as h:
        fake = h.fake
        await opened_incident(h)
        _, risky = open_pr(fake, "feature/a", "Feature A")
        # The responders feature records the tick; any later event about the issue acts on it.
        await edit_record(h, checklist_done=("freeze_deployments",))
        events: list[tuple[str, dict[str, Any]]] = []
        fake.on_event = lambda name, payload: events.append((name, payload))
        fake.person_add_label(REPO, 1, "investigating")
        await deliver_events(h, events)
        assert checks(fake) == {risky: ("failure", "Deployment freeze: incident INC-2026-0001")}

        contained_at = datetime(2026, 11, 27, 11, 0, tzinfo=UTC)
        await edit_record(h, milestones=(("contained", contained_at),), status="contained")
        fake.person_add_label(REPO, 1, "contained-ok")
        await deliver_events(h, events)
        assert checks(fake) == {risky: ("neutral", "No deployment freeze")}
        incident = await h.runtime.store.incident_for_issue(REPO, 1)
        assert incident is not None and not incident.freeze.active
        assert incident.freeze.reason == "the incident was contained"

        # The tick still stands, but a lifted freeze does not restart by itself.
        fake.person_add_label(REPO, 1, "again")
        await deliver_events(h, events)
        assert checks(fake) == {risky: ("neutral", "No deployment freeze")}


async def test_a_configured_severity_freezes_on_opening_and_closure_lifts(
        tmp_path: Path) -> None:
    fake = FakeGitHub(app_id=4242, app_slug="watchkeeper")
    fake.add_repo(REPO, installation_id=7, default_branch="master",
                  files={".github/watchkeeper.yml": "freeze:\n  severities: [critical]\n"})
    async with harness(tmp_path, fake=fake) as h:
        _, risky = open_pr(fake, "feature/b", "Feature B")
        await opened_incident(h)
        assert checks(fake) == {risky: ("failure", "Deployment freeze: incident INC-2026-0001")}
        issue = fake.issues(REPO)[0].number  # the pull request took #1
        incident = await h.runtime.store.incident_for_issue(REPO, issue)
        assert incident is not None
        assert incident.freeze.reason == ("the configuration freezes deployments for critical "
                                          "incidents")

        # A pull request that names the incident in its branch passes; pushing to it keeps
        # the check current on the new head.
        events: list[tuple[str, dict[str, Any]]] = []
        fake.on_event = lambda name, payload: events.append((name, payload))
        number, fix = open_pr(fake, "inc-2026-0001-fix", "Fix")
        await h.deliver("pull_request", pull_request(
            "opened", number=number, title="Fix", body="", head_ref="inc-2026-0001-fix",
            head_sha=fix, at="2026-11-27T09:30:00Z"))
        events.clear()
        await h.drain()
        assert checks(fake)[fix] == ("success",
                                     "Fix for incident INC-2026-0001: allowed during the freeze")

        await edit_record(h, issue, status="closed",
                          closed_at=datetime(2026, 11, 28, 9, 0, tzinfo=UTC))
        fake.person_close_issue(REPO, issue)
        await deliver_events(h, events)
        assert {sha: c for sha, (c, _) in checks(fake).items()} == {
            risky: "neutral", fix: "neutral"}
