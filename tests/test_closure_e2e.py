"""End to end on the (fake) GitHub: an incident worked through the issue by people (ticks,
commands, a fix pull request merged and deployed), closed -> the postmortem pull request
(exact Git data and pull request calls), closed again -> the same branch and pull request,
merged -> follow-up issues; and the cases around it."""

from __future__ import annotations

import copy
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tests.support import REPO, Harness, failing_secret_scan, harness, load_payload

from watchkeeper.github.fake.routes_git import tree_sha
from watchkeeper.render.markers import extract

BRANCH = "watchkeeper/postmortem-INC-2026-0001"
PM_PATH = "docs/postmortems/2026-11-27-INC-2026-0001.md"
LOG_PATH = "docs/02-planning/decision-log.md"
R = f"/repos/{REPO}"
# Calls of the postmortem step: repository, Git data, contents, pull requests, commits.
GIT_CALLS = re.compile(rf"{R}(|/git/.+|/contents/.+|/pulls(/.*)?|/commits/[^/]+)")


def tick(body: str, *keys: str) -> str:
    for key in keys:
        body = re.sub(rf"- \[ \](.*<!-- wk:{key} -->)", r"- [x]\1", body)
    return body


def git_calls(h: Harness, since: int) -> list[tuple[str, str]]:
    return [(r.method, r.path) for r in h.fake.requests[since:] if GIT_CALLS.fullmatch(r.path)]


def mutations(h: Harness, since: int) -> list[tuple[str, str]]:
    return [(r.method, r.path) for r in h.fake.requests[since:]
            if r.method != "GET" and not r.path.startswith("/app/")]


def body_of(h: Harness, method: str, path: str, since: int = 0) -> Any:
    (request,) = [r for r in h.fake.requests[since:] if (r.method, r.path) == (method, path)]
    return request.json


def deployment_status(sha: str, when: str) -> dict[str, Any]:
    """octokit's deployment_status example for our repository; adjusted: its deployment is
    of the merged fix commit, to production, at the story's time, with a target URL."""
    payload = copy.deepcopy(load_payload("deployment_status", "with-installation.payload"))
    payload["deployment_status"].update(state="success", environment="production",
                                        created_at=when, updated_at=when,
                                        target_url="https://deploy.example.com/4242")
    payload["deployment"].update(id=4242, sha=sha, ref="master", environment="production")
    payload["repository"].update(full_name=REPO, name="octo-repo", private=True,
                                 default_branch="master",
                                 owner={"login": "octo-org", "type": "Organization"})
    payload["installation"] = {"id": 7}
    return payload


class Story:
    """People working incident INC-2026-0001 in its issue, one step at a time."""

    def __init__(self, h: Harness) -> None:
        self.h = h
        self.events = h.capture()

    def at(self, day: int, hour: int, minute: int = 0) -> None:
        self.h.clock.set(datetime(2026, 11, day, hour, minute, tzinfo=UTC))

    async def say(self, who: str, text: str) -> None:
        self.h.fake.person_comment(REPO, 1, text, login=who)
        await self.h.deliver_all(self.events)

    async def tick(self, who: str, *keys: str) -> None:
        body = self.h.fake.issue(REPO, 1).body or ""
        self.h.fake.person_edit_issue_body(REPO, 1, tick(body, *keys), login=who)
        await self.h.deliver_all(self.events)

    async def close(self, reason: str = "completed") -> int:
        mark = len(self.h.fake.requests)
        self.h.fake.person_close_issue(REPO, 1, login="alice", reason=reason)
        await self.h.deliver_all(self.events)
        return mark


async def open_incident(h: Harness) -> str:
    """The offending commit lands at 06:30; the secret scan on it fails at 09:00."""
    h.clock.set(datetime(2026, 11, 27, 6, 30, tzinfo=UTC))
    sha = h.fake.set_file(REPO, "config/billing.yml", "token: placeholder\n")
    h.clock.set(datetime(2026, 11, 27, 9, 2, tzinfo=UTC))
    payload = failing_secret_scan()
    payload["workflow_run"]["head_sha"] = sha
    await h.deliver("workflow_run", payload)
    await h.drain()
    for login in ("alice", "bob", "carol"):
        h.fake.set_permission(REPO, login, "write")
    return sha


async def work(h: Harness) -> tuple[Story, str]:
    """Ticks, severity change, status update, decision, fix merged and deployed, root cause.
    Returns the story and the fix's merge commit."""
    s = Story(h)
    s.at(27, 9, 5)
    await s.say("alice", "/ic @alice")
    await s.say("alice", "/security @bob")
    s.at(27, 9, 20)
    await s.say("alice", "/severity high")
    s.at(27, 9, 30)
    await s.say("alice", '/status impact="Billing API token exposed; no misuse seen" '
                         'mitigation="revoking the token" next="10:30 UTC"')
    s.at(27, 11)
    await s.tick("bob", "revoke_credentials", "complete_containment", "validate_containment")
    s.at(27, 12)
    await s.say("alice", "/decision Rotate every billing API token")
    s.at(27, 13)
    h.fake.create_branch(REPO, "fix/billing-token")
    h.fake.set_file(REPO, "config/billing.yml", "token: ${VAULT}\n", branch="fix/billing-token")
    number = h.fake.person_open_pr(REPO, head="fix/billing-token", login="carol",
                                   title="Load the billing token from the vault",
                                   body="Fixes #1")
    await h.deliver_all(s.events)
    s.at(27, 14)
    merge = h.fake.person_merge_pr(REPO, number, login="carol")
    await h.deliver_all(s.events)
    s.at(27, 15)
    await h.deliver("deployment_status", deployment_status(merge, "2026-11-27T15:00:00Z"))
    await h.drain()
    s.at(27, 15, 30)
    await s.tick("bob", "deploy_fix", "verify_no_regression")
    s.at(27, 16)
    await s.say("alice", "/rootcause A release script copied a debug config with a live token")
    return s, merge


async def test_closing_opens_the_postmortem_pull_request_with_exact_calls(
        tmp_path: Path) -> None:
    async with harness(tmp_path) as h:
        offending = await open_incident(h)
        s, merge = await work(h)
        s.at(28, 17)
        mark = await s.close()
        pull = 3  # issue 1, fix pull request 2
        assert git_calls(h, mark) == [
            ("GET", f"{R}/commits/{offending}"),  # the offending commit's time
            ("GET", R),
            ("GET", f"{R}/git/ref/heads/{BRANCH}"),
            ("GET", f"{R}/git/ref/heads/master"),
            ("GET", f"{R}/git/commits/{merge}"),
            ("GET", f"{R}/contents/{PM_PATH}"),
            ("GET", f"{R}/contents/{LOG_PATH}"),
            ("POST", f"{R}/git/trees"),
            ("POST", f"{R}/git/commits"),
            ("POST", f"{R}/git/refs"),
            ("GET", f"{R}/pulls"),
            ("POST", f"{R}/pulls"),
            ("POST", f"{R}/pulls/{pull}/requested_reviewers"),
        ]
        tree = body_of(h, "POST", f"{R}/git/trees", mark)
        repo = h.fake.repo(REPO)
        assert tree["base_tree"] == tree_sha(repo, repo.commits[merge])  # master's tree
        assert [(e["path"], e["mode"], e["type"]) for e in tree["tree"]] == [
            (PM_PATH, "100644", "blob"), (LOG_PATH, "100644", "blob")]
        commit = body_of(h, "POST", f"{R}/git/commits", mark)
        assert commit["parents"] == [merge]
        assert commit["message"] == ("Postmortem INC-2026-0001: Workflow Secret scan failed "
                                     "on master")
        head = h.fake.repo(REPO).branches[BRANCH]
        assert body_of(h, "POST", f"{R}/git/refs", mark) == {
            "ref": f"refs/heads/{BRANCH}", "sha": head}
        assert h.fake.repo(REPO).parents[head] == (merge,)  # one commit on master
        created = body_of(h, "POST", f"{R}/pulls", mark)
        assert (created["head"], created["base"], created["title"]) == (
            BRANCH, "master", "Postmortem INC-2026-0001: Workflow Secret scan failed on master")
        assert "Postmortem for incident INC-2026-0001 (#1, [issue](" in created["body"]
        assert body_of(h, "POST", f"{R}/pulls/{pull}/requested_reviewers", mark) == {
            "reviewers": ["alice", "bob"], "team_reviewers": []}
        assert [q.query for q in h.fake.calls("GET", f"{R}/pulls")[-1:]] == [
            {"head": f"octo-org:{BRANCH}", "state": "all", "per_page": "100"}]

        # Both files in the one commit; the postmortem filled from what people did.
        document = h.fake.file(REPO, PM_PATH, branch=BRANCH) or ""
        fields = extract(document, "fields") or ""
        assert "| Root Cause | A release script copied a debug config with a live token " \
               "(alice, 2026-11-27 16:00 UTC) |" in fields
        assert "| Customer Impact | 2026-11-27 09:30 UTC: Billing API token exposed; no " \
               "misuse seen (alice) |" in fields
        assert "Detection lag: 2h 30m from the offending commit (2026-11-27 06:30 UTC)" in fields
        assert f"merge sha `{merge}`" in fields and "deployment id `4242`" in fields
        assert "Fixed: 2026-11-27 15:30 UTC — SLA met after 6h 30m (target 3 business days)" \
            in fields
        assert "| 2026-11-27 12:00 | Rotate every billing API token | alice |" in (
            h.fake.file(REPO, LOG_PATH, branch=BRANCH) or "")
        assert h.fake.file(REPO, PM_PATH) is None  # nothing on master until merged

        # The issue: one comment linking the pull request, labels, sections.
        issue = h.fake.issue(REPO, 1)
        assert sorted(issue.labels) == ["incident", "needs:definition-of-done",
                                        "severity:high", "source:workflow_run", "status:closed"]
        comment = issue.comments[-1].body
        assert comment.startswith("**Incident INC-2026-0001 closed** with 1 Definition of "
                                  "Done item(s) unmet")
        assert f"[pull request {pull}](https://github.com/{REPO}/pull/{pull})" in comment
        dod = extract(issue.body, "dod") or ""
        assert f"Postmortem: [pull request {pull}](https://github.com/{REPO}/pull/{pull}) " \
               "(in review)." in dod
        record = await h.runtime.store.incident_for_issue(REPO, 1)
        assert record is not None and record.status == "closed"
        assert (record.closure.postmortem_pr, record.closure.postmortem_branch) == (pull, BRANCH)
        assert [e.kind for e in record.timeline[-3:]] == ["closed", "dod", "postmortem"]

        # The app's own echoes (the pull request opened, labels, edits) change nothing.
        assert s.events and all(p["sender"]["login"] == "watchkeeper[bot]" for _, p in s.events)
        before = len(h.fake.requests)
        await h.deliver_all(s.events)
        assert h.fake.requests[before:] == []


async def test_closing_again_updates_the_same_branch_and_pull_request(tmp_path: Path) -> None:
    async with harness(tmp_path) as h:
        await open_incident(h)
        s, _ = await work(h)
        s.at(28, 17)
        await s.close()
        first_head = h.fake.repo(REPO).branches[BRANCH]
        # In review, a person fills in an owner and a due date on the branch.
        text = h.fake.file(REPO, PM_PATH, branch=BRANCH) or ""
        filled = text.replace("<!-- wk-pa:test-boundary --> | Add/adjust tests for failed "
                              "boundary (tenant isolation, auth, validation). |  |  |",
                              "<!-- wk-pa:test-boundary --> | Add/adjust tests for failed "
                              "boundary (tenant isolation, auth, validation). | @carol | "
                              "2026-12-15 |")
        assert filled != text
        person_head = h.fake.set_file(REPO, PM_PATH, filled, branch=BRANCH)
        # Reopened, another decision, closed again.
        s.at(29, 10)
        h.fake.person_reopen_issue(REPO, 1, login="alice")
        await h.deliver_all(s.events)
        await s.say("alice", "/decision Keep tokens in the vault only")
        s.at(29, 11)
        mark = await s.close()
        assert git_calls(h, mark) == [
            ("GET", R),
            ("GET", f"{R}/git/ref/heads/{BRANCH}"),
            ("GET", f"{R}/git/commits/{person_head}"),
            ("GET", f"{R}/contents/{PM_PATH}"),
            ("GET", f"{R}/contents/{LOG_PATH}"),
            ("POST", f"{R}/git/trees"),
            ("POST", f"{R}/git/commits"),
            ("PATCH", f"{R}/git/refs/heads/{BRANCH}"),
            ("GET", f"{R}/pulls"),  # the open pull request is found: no second one
        ]
        assert body_of(h, "POST", f"{R}/git/commits", mark)["parents"] == [person_head]
        assert body_of(h, "PATCH", f"{R}/git/refs/heads/{BRANCH}", mark)["force"] is False
        assert len(h.fake.pulls(REPO)) == 2  # the fix and the one postmortem
        assert first_head != person_head
        document = h.fake.file(REPO, PM_PATH, branch=BRANCH) or ""
        assert "| @carol | 2026-12-15 |" in document  # kept
        assert "Keep tokens in the vault only" in (extract(document, "decisions") or "")
        assert "| Keep tokens in the vault only | alice |" in (
            h.fake.file(REPO, LOG_PATH, branch=BRANCH) or "")
        comment = h.fake.issue(REPO, 1).comments[-1].body
        assert "[pull request 3](https://github.com/octo-org/octo-repo/pull/3)" in comment

        # Merged: follow-up issues for the rows with an owner and a due date.
        s.at(30, 9)
        mark = len(h.fake.requests)
        h.fake.person_merge_pr(REPO, 3, login="bob")
        merge_events = list(s.events)
        await h.deliver_all(s.events)
        assert mutations(h, mark) == [
            ("DELETE", f"{R}/issues/1/labels/needs:definition-of-done"),
            ("POST", f"{R}/labels"),  # preventive-action
            ("POST", f"{R}/issues"),
            ("POST", f"{R}/issues/1/comments"),
            ("PATCH", f"{R}/issues/1"),
        ]
        assert [r.query for r in h.fake.calls("GET", f"{R}/contents/{PM_PATH}")][-1] == {
            "ref": "master"}
        followup = body_of(h, "POST", f"{R}/issues", mark)
        assert followup["title"] == (
            "[INC-2026-0001] Preventive action: Add a test or check that keeps credentials "
            "out of the repository: configuration and fixtures read secrets from the secret "
            "store")
        assert (followup["labels"], followup["assignees"]) == (["preventive-action"], ["carol"])
        assert "\nDue: 2026-12-15\n" in followup["body"]
        assert "(#1)" in followup["body"]
        issue = h.fake.issue(REPO, 1)
        assert "needs:definition-of-done" not in issue.labels
        assert "Definition of Done: all met" in issue.comments[-1].body
        dod = extract(issue.body, "dod") or ""
        assert "- ✅ Postmortem published with actionable preventive work and owners." in dod
        assert "Follow-up issues:\n- [issue 4](https://github.com/octo-org/octo-repo/issues/4)"\
            in dod
        record = await h.runtime.store.incident_for_issue(REPO, 1)
        assert record is not None and record.closure.published_at is not None
        assert [(f.number, f.owner, f.due) for f in record.closure.followups] == [
            (4, "carol", "2026-12-15")]
        assert [e.kind for e in record.timeline[-2:]] == ["postmortem", "followup"]
        # The merge delivered again: nothing more.
        before = len(h.fake.requests)
        await h.deliver_all(merge_events)
        assert mutations(h, before) == []


async def test_runs_on_the_postmortem_branch_never_open_an_incident(tmp_path: Path) -> None:
    async with harness(tmp_path) as h:
        payload = failing_secret_scan()
        payload["workflow_run"]["head_branch"] = BRANCH
        await h.deliver("workflow_run", payload)
        await h.drain()
        assert h.fake.calls("POST", f"{R}/issues") == []


async def test_a_branch_and_file_started_by_hand_are_built_on_not_overwritten(
        tmp_path: Path) -> None:
    async with harness(tmp_path) as h:
        await open_incident(h)
        h.fake.create_branch(REPO, BRANCH)
        hand = h.fake.set_file(REPO, PM_PATH, "# Our notes\n\nStarted by hand.\n", branch=BRANCH)
        s = Story(h)
        s.at(27, 10)
        mark = await s.close()
        assert ("PATCH", f"{R}/git/refs/heads/{BRANCH}") in git_calls(h, mark)
        assert h.fake.repo(REPO).parents[h.fake.repo(REPO).branches[BRANCH]] == (hand,)
        document = h.fake.file(REPO, PM_PATH, branch=BRANCH) or ""
        assert document.startswith("# Our notes\n\nStarted by hand.\n\n---\n\n"
                                   "<!-- watchkeeper:postmortem INC-2026-0001 -->")
        (pull,) = [p for p in h.fake.pulls(REPO)]
        (note,) = pull.comments
        assert "already existed" in note.body and "committed on top of it" in note.body
        assert "its text is kept, and the filled-in template was added below it" in note.body
        assert h.fake.file(REPO, LOG_PATH, branch=BRANCH) is None  # no decisions recorded


async def test_a_false_positive_is_closed_without_a_postmortem(tmp_path: Path) -> None:
    async with harness(tmp_path) as h:
        await open_incident(h)
        s = Story(h)
        s.at(27, 10)
        mark = await s.close(reason="not_planned")
        assert git_calls(h, mark) == []
        assert mutations(h, mark) == [
            ("DELETE", f"{R}/issues/1/labels/status:open"),
            ("POST", f"{R}/labels"),
            ("POST", f"{R}/issues/1/labels"),
            ("POST", f"{R}/issues/1/comments"),
            ("PATCH", f"{R}/issues/1"),
        ]
        record = await h.runtime.store.incident_for_issue(REPO, 1)
        assert record is not None
        assert (record.status, record.closure.reason) == ("closed", "not_planned")
        assert record.timeline[-1].text == "Closed as not planned (false positive)"
        assert "No postmortem is opened" in h.fake.issue(REPO, 1).comments[-1].body


async def test_with_reopen_configured_an_early_close_is_undone(tmp_path: Path) -> None:
    async with harness(tmp_path) as h:
        h.fake.set_file(REPO, ".github/watchkeeper.yml", "closure:\n  on_unmet: reopen\n")
        offending = await open_incident(h)
        s = Story(h)
        s.at(27, 10)
        mark = await s.close()
        assert git_calls(h, mark) == [("GET", f"{R}/commits/{offending}")]
        assert mutations(h, mark) == [
            ("POST", f"{R}/issues/1/comments"),
            ("PATCH", f"{R}/issues/1"),  # reopened
            ("PATCH", f"{R}/issues/1"),  # sections
        ]
        issue = h.fake.issue(REPO, 1)
        assert issue.state == "open"
        assert issue.comments[-1].body.startswith("**Reopened:** incident INC-2026-0001 does "
                                                  "not meet the runbook's Definition of Done")
        record = await h.runtime.store.incident_for_issue(REPO, 1)
        assert record is not None and record.status == "open" and record.closed_at is None


async def test_a_lost_answer_never_opens_a_second_pull_request(tmp_path: Path) -> None:
    async with harness(tmp_path) as h:
        await open_incident(h)
        s = Story(h)
        s.at(27, 10)
        # GitHub opens the pull request but the answer is lost: the delivery is retried.
        h.fake.fail_next("POST", rf"{R}/pulls", 502, after=True)
        await s.close()
        assert len(h.fake.pulls(REPO)) == 1
        assert h.fake.issue(REPO, 1).comments == []  # not announced yet
        h.clock.advance(600)
        mark = len(h.fake.requests)
        await h.drain()
        assert git_calls(h, mark) == [
            ("GET", R),
            ("GET", f"{R}/git/ref/heads/{BRANCH}"),  # found, with the commit made before
            ("GET", f"{R}/git/commits/{h.fake.repo(REPO).branches[BRANCH]}"),
            ("GET", f"{R}/contents/{PM_PATH}"),  # already current: no second commit
            ("GET", f"{R}/pulls"),  # found: no second pull request
        ]
        assert len(h.fake.calls("POST", rf"{R}/git/commits")) == 1
        assert len(h.fake.calls("POST", rf"{R}/pulls")) == 1
        (pull,) = h.fake.pulls(REPO)
        assert pull.comments == []  # the branch is recognised as Watchkeeper's own
        record = await h.runtime.store.incident_for_issue(REPO, 1)
        assert record is not None and record.closure.postmortem_pr == pull.number
        assert len(h.fake.issue(REPO, 1).comments) == 1


async def test_a_postmortem_that_cannot_be_written_is_reported(tmp_path: Path) -> None:
    async with harness(tmp_path) as h:
        await open_incident(h)
        s = Story(h)
        s.at(27, 10)
        h.fake.fail_next("POST", rf"{R}/git/trees", 403,
                         headers={"x-accepted-github-permissions": "contents=write"})
        await s.close()
        assert h.fake.pulls(REPO) == []
        comment = h.fake.issue(REPO, 1).comments[-1].body
        assert "Watchkeeper could not open the postmortem pull request: POST " \
               "/repos/octo-org/octo-repo/git/trees: forbidden: Forbidden;" in comment
        assert "contents=write" in comment
        record = await h.runtime.store.incident_for_issue(REPO, 1)
        assert record is not None and record.status == "closed"
        assert record.timeline[-1].text.startswith("The postmortem pull request could not be "
                                                   "opened")
