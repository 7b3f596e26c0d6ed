"""End to end: evidence collected as an incident is worked, through the real app, store and
GitHub client against the fake — a failure, the fix's pull request, its CI run, the merge,
the deployment and the recovery, each recorded once and in order."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from tests.evidence_support import (
    deployment_status,
    failed_job,
    pull_request,
    secret_scan_run,
    workflow_run,
)
from tests.support import REPO, Harness, failing_secret_scan, harness

FIX_BRANCH = "fix/inc-2026-0001-rotate-key"
STORY_KINDS = ("detected", "recorded", "evidence", "deployment", "recovered")


def section(body: str, name: str) -> str:
    m = re.search(rf"<!-- watchkeeper:{name} -->(.*?)<!-- /watchkeeper:{name} -->", body, re.S)
    assert m is not None, f"no {name} section"
    return m.group(1)


async def step(h: Harness, event: str, payload: dict[str, Any], advance: int = 600) -> None:
    h.clock.advance(advance)
    assert (await h.deliver(event, payload)).status_code == 202
    await h.drain()


async def test_the_story_of_a_fix_is_recorded_once_and_in_order(tmp_path: Path) -> None:
    async with harness(tmp_path) as h:
        fake = h.fake
        fake.add_workflow_jobs(REPO, 289782451, [
            failed_job(job_id=399444496, run_id=289782451, at="2026-11-27T09:00:00Z")])
        story: list[tuple[str, dict[str, Any]]] = []

        # 09:00 the secret scan fails on master: the incident opens (issue #1).
        story.append(("workflow_run", failing_secret_scan()))
        await step(h, *story[-1], advance=0)
        assert fake.issues(REPO)[0].number == 1

        # 09:10 a pull request that references the incident opens (#2).
        fake.create_branch(REPO, FIX_BRANCH)
        head = fake.set_file(REPO, "app/settings.py", "KEY = env('KEY')\n", branch=FIX_BRANCH)
        number = fake.person_open_pr(REPO, head=FIX_BRANCH, title="Rotate the leaked key",
                                     body="Fixes #1: the key moves to the environment.")
        assert number == 2
        story.append(("pull_request", pull_request(
            "opened", number=2, title="Rotate the leaked key",
            body="Fixes #1: the key moves to the environment.", head_ref=FIX_BRANCH,
            head_sha=head, at="2026-11-27T09:10:00Z")))
        await step(h, *story[-1])

        # 09:20 its CI run passes.
        story.append(("workflow_run", workflow_run(
            run_id=300, conclusion="success", branch=FIX_BRANCH, sha=head,
            at="2026-11-27T09:20:00Z")))
        await step(h, *story[-1])

        # 09:30 it is merged.
        merge = fake.person_merge_pr(REPO, 2)
        story.append(("pull_request", pull_request(
            "merged", number=2, title="Rotate the leaked key",
            body="Fixes #1: the key moves to the environment.", head_ref=FIX_BRANCH,
            head_sha=head, at="2026-11-27T09:30:00Z", created_at="2026-11-27T09:10:00Z",
            merged=True, merge_sha=merge)))
        await step(h, *story[-1])

        # 09:40 the merge commit is deployed to production.
        story.append(("deployment_status", deployment_status(
            deployment_id=145988746, state="success", sha=merge, at="2026-11-27T09:40:00Z")))
        await step(h, *story[-1])

        # 09:50 the secret scan passes on master again.
        story.append(("workflow_run", secret_scan_run(
            run_id=289782600, conclusion="success", sha=merge, at="2026-11-27T09:50:00Z")))
        await step(h, *story[-1])

        incident = await h.runtime.store.incident_for_issue(REPO, 1)
        assert incident is not None
        short = merge[:12]
        timeline = [(e.at.strftime("%H:%M"), e.kind, e.text)
                    for e in sorted(incident.timeline, key=lambda e: e.at)
                    if e.kind in STORY_KINDS]
        assert timeline == [
            ("09:00", "detected", "Detected: Workflow Secret scan failed on master"),
            ("09:02", "recorded", "Recorded by Watchkeeper, 2m after detection"),
            ("09:10", "evidence", "Pull request #2 opened by octocat: Rotate the leaked key "
                                  "(merging it closes the incident issue on GitHub)"),
            ("09:20", "evidence", f"Workflow CI succeeded on pull request #2 "
                                  f"(commit {head[:12]})"),
            ("09:30", "evidence", f"Fix candidate: pull request #2 merged as commit {short}: "
                                  "Rotate the leaked key"),
            ("09:40", "deployment", f"Fix deployed to production: deployment 145988746 of "
                                    f"commit {short} includes pull request #2"),
            ("09:50", "recovered", "Signal recovered: Workflow Secret scan succeeded on master"),
        ]
        evidence = [(e.kind, e.key) for e in incident.evidence]
        assert evidence == [
            ("workflow_run", "workflow_run:289782451:1:failure"),
            ("workflow_job", "job:399444496:step:8"),
            ("pull_request", f"pr:{REPO}#2"),
            ("workflow_run", "run:300:1"),
            ("deployment", "deployment:145988746"),
            ("workflow_run", "workflow_run:289782600:1:success"),
        ]
        pr = dict(incident.evidence[2].identifiers)
        assert pr == {"pr": f"{REPO}#2", "author": "octocat", "state": "merged",
                      "branch": FIX_BRANCH, "head_sha": head, "merge_sha": merge}
        assert dict(incident.evidence[4].identifiers) == {
            "deployment_id": "145988746", "environment": "production", "sha": merge,
            "state": "success", "fix": f"{REPO}#2"}
        step_ids = dict(incident.evidence[1].identifiers)
        assert step_ids == {"run_id": "289782451", "job_id": "399444496", "step": "8",
                            "conclusion": "failure"}
        assert incident.evidence[1].url == f"https://github.com/{REPO}/runs/399444496#step:8:1"

        # The issue shows all of it, in order.
        body = fake.issue(REPO, 1).body or ""
        rows = [line for line in section(body, "evidence").splitlines() if line.startswith("- ")]
        assert [row.split(" · ")[1] for row in rows] == [
            "Workflow run", "Failed step", "Pull request", "Workflow run", "Deployment",
            "Workflow run"]
        assert "[linters › Run yarn run format-check (failed)](" in rows[1]
        assert f"merge\\_sha `{merge}`" in rows[2]
        text = section(body, "timeline")
        order = [text.index(s) for s in ("Detected", "opened by octocat", "Workflow CI succeeded",
                                          "Fix candidate", "Fix deployed", "Signal recovered")]
        assert order == sorted(order)
        # The jobs API was asked once; no log was ever requested.
        jobs = fake.calls("GET", rf"/repos/{REPO}/actions/runs/289782451(/attempts/1)?/jobs")
        assert len(jobs) == 1
        assert not [r for r in fake.requests if "/logs" in r.path]

        # Every delivery again (replays under new IDs): nothing new, nothing twice.
        before = (incident.timeline, incident.evidence)
        for event, payload in story:
            await step(h, event, payload, advance=60)
        again = await h.runtime.store.incident_for_issue(REPO, 1)
        assert again is not None
        assert (again.timeline, again.evidence) == before
        assert len(fake.calls("GET", rf"/repos/{REPO}/actions/runs/289782451(/attempts/1)?/jobs")
                   ) == 1


async def test_untrusted_pull_request_text_is_neutralised(tmp_path: Path) -> None:
    async with harness(tmp_path) as h:
        await step(h, "workflow_run", failing_secret_scan(), advance=0)
        title = "Fix #1 @octo-org/admins [x](https://evil.example) <img src=x>"
        await step(h, "pull_request", pull_request(
            "opened", number=2, title=title, body="", head_ref="inc-2026-0001",
            head_sha="a" * 40, at="2026-11-27T09:10:00Z"))
        body = h.fake.issue(REPO, 1).body or ""
        visible = re.sub(r"`[^`\n]*`", "", section(body, "evidence") + section(body, "timeline"))
        assert "Pull request" in visible
        assert not re.search(r"(?<!\w)@octo-org/admins", visible)
        assert "](https://evil.example)" not in visible
        assert "<img" not in visible


async def test_a_pull_request_without_a_reference_is_not_evidence(tmp_path: Path) -> None:
    async with harness(tmp_path) as h:
        await step(h, "workflow_run", failing_secret_scan(), advance=0)
        patches = len(h.fake.calls("PATCH", rf"/repos/{REPO}/issues/1"))
        await step(h, "pull_request", pull_request(
            "opened", number=2, title="Bump lodash (#12)", body="See #10 and INC-2026-00012",
            head_ref="renovate/lodash", head_sha="b" * 40, at="2026-11-27T09:10:00Z"))
        assert len(h.fake.calls("PATCH", rf"/repos/{REPO}/issues/1")) == patches
        incident = await h.runtime.store.incident_for_issue(REPO, 1)
        assert incident is not None and [e.kind for e in incident.evidence] == ["workflow_run"]


async def test_a_later_deployment_that_contains_the_fix_counts(tmp_path: Path) -> None:
    async with harness(tmp_path) as h:
        fake = h.fake
        await step(h, "workflow_run", failing_secret_scan(), advance=0)
        fake.create_branch(REPO, "fix/1")
        head = fake.set_file(REPO, "key.txt", "rotated", branch="fix/1")
        fake.person_open_pr(REPO, head="fix/1", title="Rotate", body="Closes #1")
        merge = fake.person_merge_pr(REPO, 2)
        await step(h, "pull_request", pull_request(
            "merged", number=2, title="Rotate", body="Closes #1", head_ref="fix/1",
            head_sha=head, at="2026-11-27T09:30:00Z", merged=True, merge_sha=merge))
        unrelated = fake.set_file(REPO, "docs.md", "docs")  # a later commit on master
        await step(h, "deployment_status", deployment_status(
            deployment_id=7, state="success", sha=unrelated, at="2026-11-27T09:40:00Z"))
        incident = await h.runtime.store.incident_for_issue(REPO, 1)
        assert incident is not None
        assert [e.text for e in incident.timeline if e.kind == "deployment"] == [
            f"Fix deployed to production: deployment 7 of commit {unrelated[:12]} includes "
            "pull request #2"]
        assert len(fake.calls("GET", rf"/repos/{REPO}/compare/{merge}\.\.\.{unrelated}")) == 1

        # A deployment of a commit without the fix is no evidence.
        before = fake.repo(REPO).parents[merge][0]
        await step(h, "deployment_status", deployment_status(
            deployment_id=8, state="success", sha=before, at="2026-11-27T09:50:00Z"))
        incident = await h.runtime.store.incident_for_issue(REPO, 1)
        assert incident is not None
        assert [e.key for e in incident.evidence if e.kind == "deployment"] == ["deployment:7"]
