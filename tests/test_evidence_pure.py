"""watchkeeper.evidence decisions, pure: explicit times in, the record and actions out."""

from __future__ import annotations

import copy
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from tests.evidence_support import deployment_status, failed_job, pull_request, workflow_run
from tests.support import REPO, load_payload

from watchkeeper.actions import Comment, OpenIssue, UpdateIssueSections
from watchkeeper.evidence import fix_candidates, fix_deployments
from watchkeeper.evidence.alert_text import alert_change_text
from watchkeeper.evidence.alerts import decide_alert_change, follow_closed, link_previous
from watchkeeper.evidence.deploys import commits_to_compare, decide_deployment, direct_fix
from watchkeeper.evidence.facts import (
    deployment_event,
    failed_steps,
    pull_event,
    run_event,
)
from watchkeeper.evidence.pulls import decide_pull
from watchkeeper.evidence.refs import closes, references
from watchkeeper.evidence.runs import decide_run, needs_jobs, run_role
from watchkeeper.incident import Decision, opening_actions
from watchkeeper.record import Incident, TimelineEntry
from watchkeeper.runbook.config import default_config
from watchkeeper.signals import code_scanning, dependabot, secret_scanning
from watchkeeper.signals.model import RepoRef, Signal

CONFIG = default_config()
T0 = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
NOW = T0 + timedelta(hours=1)


def incident(**changes: object) -> Incident:
    base = Incident(
        id="INC-2026-0001", fingerprint=f"{REPO}|secret_scan|.github/workflows/secret-scan.yml"
        "|master", repo=REPO, tracker_repo=REPO, installation_id=7, severity="critical",
        status="open", rule="secret_scan", source="workflow_run",
        title="Workflow Secret scan failed on master", detected_at=T0, recorded_at=T0,
        issue_number=1, branch="master", subject=".github/workflows/secret-scan.yml",
        timeline=(TimelineEntry(T0, "watchkeeper", "detected", "Detected",
                                key="workflow_run:1:1:failure"),))
    return replace(base, **changes)  # type: ignore[arg-type]


def pr(action: str = "opened", **kw: object) -> object:
    args: dict[str, object] = dict(number=2, title="Rotate the key", body="", head_ref="fix",
                                   head_sha="a" * 40, at="2026-11-27T09:10:00Z")
    args.update(kw)
    facts = pull_event(pull_request(action, **args))  # type: ignore[arg-type]
    assert facts is not None
    return facts


# --- parsing ---------------------------------------------------------------------------

def test_pull_request_facts_from_the_examples() -> None:
    opened = pull_event(load_payload("pull_request", "opened.payload"))
    assert opened is not None
    assert (opened.repo, opened.number, opened.state, opened.head_ref, opened.base_ref,
            opened.author, opened.merge_sha, opened.default_branch, opened.installation_id) == (
        "Codertocat/Hello-World", 2, "open", "changes", "master", "Codertocat", None, "master", 1)
    assert opened.at == datetime(2019, 5, 15, 15, 20, 33, tzinfo=UTC)
    closed = pull_event(load_payload("pull_request", "closed.payload"))
    assert closed is not None and closed.state == "closed" and closed.merge_sha is None
    assert closed.at == datetime(2019, 5, 15, 15, 21, 18, tzinfo=UTC)
    null_body = pull_event(load_payload("pull_request", "opened.with-null-body"))
    assert null_body is not None and null_body.body == ""
    assert pull_event(load_payload("pull_request", "labeled.payload")) is None


def test_a_merged_pull_request_carries_its_merge_commit() -> None:
    merged = pr("merged", merged=True, merge_sha="c" * 40, at="2026-11-27T09:30:00Z")
    assert (merged.state, merged.merge_sha, merged.action) == ("merged", "c" * 40, "closed")


def test_run_and_deployment_facts() -> None:
    run = run_event(workflow_run(run_id=300, conclusion="success", branch="fix", sha="a" * 40,
                                 at="2026-11-27T09:20:00Z"))
    assert run is not None
    assert (run.run_id, run.attempt, run.name, run.conclusion, run.head_branch, run.head_repo,
            run.signal_key) == (300, 1, "CI", "success", "fix", None,
                                "workflow_run:300:1:success")
    assert run_event(load_payload("workflow_run", "requested.payload")) is None
    example = deployment_event(load_payload("deployment_status", "payload"))
    assert example is not None
    assert (example.deployment_id, example.state, example.environment, example.sha,
            example.url) == (145988746, "success", "production",
                             "f95f852bd8fca8fcc58a9a2d6c842781e32a215e", None)
    pending = deployment_status(deployment_id=1, state="pending", sha="a" * 40,
                                at="2026-11-27T09:40:00Z")
    assert deployment_event(pending) is None


def test_failed_steps_name_the_step_and_link_to_it() -> None:
    job = failed_job(job_id=9, run_id=300, at="2026-11-27T09:00:00Z")
    passing = {**copy.deepcopy(job), "id": 10, "conclusion": "success"}
    no_steps = {**copy.deepcopy(job), "id": 11, "conclusion": "timed_out", "steps": [],
                "html_url": f"https://github.com/{REPO}/runs/11"}
    steps = failed_steps([job, passing, no_steps])
    assert [(s.key, s.job_name, s.step_name, s.link) for s in steps] == [
        ("job:9:step:8", "linters", "Run yarn run format-check",
         f"https://github.com/{REPO}/runs/9#step:8:1"),
        ("job:11", "linters", None, f"https://github.com/{REPO}/runs/11"),
    ]


# --- references ------------------------------------------------------------------------

@pytest.mark.parametrize(("title", "body", "branch", "expected"), [
    ("Fixes #1", "", "x", True),
    ("Fix", "See https://github.com/octo-org/octo-repo/issues/1 for details", "x", True),
    ("Fix", "octo-org/octo-repo#1", "x", True),
    ("Fix", "GH-1", "x", True),
    ("Fix for inc-2026-0001", "", "x", True),
    ("Fix", "", "security/INC-2026-0001-rotate", True),
    ("Fix", "", "1-leaked-key", True),
    ("Fix", "", "fix/issue-1", True),
    ("Bump lodash (#12)", "#10, #1000", "renovate/lodash", False),
    ("Fix", "INC-2026-00012 and INC-2026-0001a", "x", False),
    ("Fix", "other/repo#1 and &#1; entity", "x", False),
    ("Fix", "", "release-1.2", False),
])
def test_references(title: str, body: str, branch: str, expected: bool) -> None:
    facts = pr(title=title, body=body, head_ref=branch)
    assert references(incident(), facts) is expected


def test_references_to_a_separate_incidents_repository() -> None:
    tracked = incident(tracker_repo="octo-org/incidents", issue_number=7)
    assert references(tracked, pr(body="Closes octo-org/incidents#7"))
    assert closes(tracked, pr(body="Closes octo-org/incidents#7"))
    assert not references(tracked, pr(body="Fixes #7"))  # #7 would be octo-repo's own
    assert not references(tracked, pr(head_ref="7-fix"))
    assert not closes(incident(), pr(body="Relates to #1"))


# --- pull requests ---------------------------------------------------------------------

def test_a_pull_request_is_linked_once_and_kept_current() -> None:
    opened = decide_pull(incident(), pr(body="Fixes #1"), CONFIG, NOW)
    linked = opened.incident
    assert linked is not None
    assert [(e.kind, e.text, e.key) for e in linked.timeline[1:]] == [
        ("evidence", "Pull request #2 opened by octocat: Rotate the key (merging it closes the "
                     "incident issue on GitHub)", f"pr:{REPO}#2:linked")]
    assert isinstance(opened.actions[0], UpdateIssueSections)
    assert [name for name, _ in opened.actions[0].sections] == ["evidence", "timeline"]
    # A push moves the head: the same item, a new SHA, no new entry (the text no longer
    # needs to reference the incident).
    pushed = decide_pull(linked, pr("synchronize", head_sha="b" * 40), CONFIG, NOW).incident
    assert pushed is not None and len(pushed.evidence) == 1
    assert dict(pushed.evidence[0].identifiers)["head_sha"] == "b" * 40
    assert pushed.evidence[0].at == T0 + timedelta(minutes=10)
    assert pushed.timeline == linked.timeline
    merged = decide_pull(pushed, pr("merged", merged=True, merge_sha="c" * 40, head_sha="b" * 40,
                                    at="2026-11-27T09:30:00Z"), CONFIG, NOW).incident
    assert merged is not None
    assert [dict(e.identifiers)["merge_sha"] for e in fix_candidates(merged)] == ["c" * 40]
    assert merged.timeline[-1].data == (("pr", f"{REPO}#2"), ("state", "merged"),
                                        ("merge_sha", "c" * 40), ("head_sha", "b" * 40))
    assert decide_pull(merged, pr("merged", merged=True, merge_sha="c" * 40, head_sha="b" * 40,
                                  at="2026-11-27T09:30:00Z"), CONFIG, NOW) == Decision(merged, ())


def test_closing_and_reopening_are_entries_and_edits_link_late() -> None:
    edited = decide_pull(incident(), pr("edited", body="Now for INC-2026-0001"), CONFIG,
                         NOW).incident
    assert edited is not None
    assert edited.timeline[-1].text == "Pull request #2 by octocat now references the incident: " \
        "Rotate the key"
    closed = decide_pull(edited, pr("closed", at="2026-11-27T09:40:00Z"), CONFIG, NOW).incident
    assert closed is not None
    assert closed.timeline[-1].text == "Pull request #2 closed without merging"
    assert dict(closed.evidence[0].identifiers)["state"] == "closed"
    reopened = decide_pull(closed, pr("reopened", at="2026-11-27T09:50:00Z"), CONFIG,
                           NOW).incident
    assert reopened is not None and reopened.timeline[-1].text == "Pull request #2 reopened"


def test_watchkeeper_branches_and_unrelated_pull_requests_are_not_evidence() -> None:
    own = pr(head_ref="watchkeeper/postmortem-inc-2026-0001", body="Postmortem for #1")
    assert decide_pull(incident(), own, CONFIG, NOW) == Decision(incident(), ())
    assert decide_pull(incident(), pr(), CONFIG, NOW) == Decision(incident(), ())


# --- runs and deployments --------------------------------------------------------------

def _linked() -> Incident:
    found = decide_pull(incident(), pr(body="Fixes #1"), CONFIG, NOW).incident
    assert found is not None
    return found


def test_runs_on_a_linked_pull_request_are_evidence() -> None:
    by_sha = run_event(workflow_run(run_id=300, conclusion="failure", branch="other",
                                    sha="a" * 40, at="2026-11-27T09:20:00Z"))
    assert by_sha is not None
    linked = _linked()
    assert run_role(linked, by_sha) == "linked" and needs_jobs(linked, by_sha)
    steps = failed_steps([failed_job(job_id=9, run_id=300, at="2026-11-27T09:21:00Z")])
    decided = decide_run(linked, by_sha, CONFIG, NOW, steps).incident
    assert decided is not None
    assert [e.key for e in decided.evidence] == [f"pr:{REPO}#2", "run:300:1", "job:9:step:8"]
    assert decided.timeline[-1].text == (
        "Workflow CI failed on pull request #2 (commit aaaaaaaaaaaa)")
    assert not needs_jobs(decided, by_sha)
    by_branch = run_event(workflow_run(run_id=301, conclusion="success", branch="fix",
                                       sha="d" * 40, at="2026-11-27T09:25:00Z"))
    assert by_branch is not None and run_role(linked, by_branch) == "linked"
    unrelated = run_event(workflow_run(run_id=302, conclusion="success", branch="main2",
                                       sha="e" * 40, at="2026-11-27T09:25:00Z"))
    assert unrelated is not None and run_role(linked, unrelated) is None


def test_deployments_of_a_fix() -> None:
    merged = decide_pull(_linked(), pr("merged", merged=True, merge_sha="c" * 40,
                                       at="2026-11-27T09:30:00Z"), CONFIG, NOW).incident
    assert merged is not None
    later = deployment_event(deployment_status(deployment_id=5, state="failure", sha="f" * 40,
                                               at="2026-11-27T09:40:00Z"))
    assert later is not None
    assert direct_fix(merged, later) is None
    assert [sha for sha, _ in commits_to_compare(merged, later)] == ["c" * 40, "a" * 40]
    failed = decide_deployment(merged, later, fix_candidates(merged)[0], CONFIG, NOW).incident
    assert failed is not None
    assert failed.timeline[-1].text == ("Deployment 5 to production of commit ffffffffffff "
                                        "(includes pull request #2) failed")
    assert fix_deployments(failed) == []
    exact = deployment_event(deployment_status(deployment_id=6, state="success", sha="c" * 40,
                                               at="2026-11-27T09:50:00Z"))
    assert exact is not None
    fix = direct_fix(failed, exact)
    deployed = decide_deployment(failed, exact, fix, CONFIG, NOW).incident
    assert deployed is not None
    assert [dict(e.identifiers)["deployment_id"] for e in fix_deployments(deployed)] == ["6"]
    assert dict(deployed.timeline[-1].data)["fix"] == "true"
    assert decide_deployment(merged, exact, None, CONFIG, NOW) == Decision(merged, ())


# --- alerts ----------------------------------------------------------------------------

def _signal(module: object, event: str, name: str) -> Signal:
    signal = module.parse(load_payload(event, name), received_at=T0)  # type: ignore[attr-defined]
    assert signal is not None
    return signal


def test_alert_change_texts() -> None:
    # Fixed on a pull request's merge ref: no branch to name.
    assert alert_change_text(_signal(code_scanning, "code_scanning_alert", "fixed.payload")) \
        == "Code scanning alert #10: Query built from user-controlled sources — fixed"
    dismissed = _signal(code_scanning, "code_scanning_alert", "closed-by-user.payload")
    assert alert_change_text(dismissed).endswith(" — dismissed by Codertocat (false positive)")
    fixed = _signal(dependabot, "dependabot_alert", "fixed.payload")
    assert alert_change_text(fixed) == f"{fixed.title} — fixed"
    # Adjusted: the only secret scanning example is `reopened`; resolved with a resolution.
    payload = copy.deepcopy(load_payload("secret_scanning_alert", "reopened.payload"))
    payload["action"] = "resolved"
    payload["alert"].update(resolution="false_positive", resolved_by={"login": "octocat"})
    secret = secret_scanning.parse(payload, received_at=T0)
    assert secret is not None
    assert alert_change_text(secret) == ("Secret scanning alert #191: adafruit_io_key — "
                                         "resolved as false positive by octocat")


def _secret(action: str, at: datetime, **alert: object) -> Signal:
    payload = copy.deepcopy(load_payload("secret_scanning_alert", "reopened.payload"))
    payload["action"] = action
    payload["alert"].update(updated_at=at.strftime("%Y-%m-%dT%H:%M:%SZ"), **alert)
    signal = secret_scanning.parse(payload, received_at=at)
    assert signal is not None
    return signal


def _alert_incident() -> Incident:
    return incident(source="secret_scanning_alert", rule="secret_scanning_alert", subject="191",
                    branch=None, repo="Codertocat/Hello-World",
                    tracker_repo="Codertocat/Hello-World")


def test_a_validity_check_is_an_entry_and_inactive_ticks_revoke() -> None:
    active = _secret("validated", T0 + timedelta(minutes=5), validity="active")
    decided = decide_alert_change(_alert_incident(), active, CONFIG, NOW).incident
    assert decided is not None and decided.checklist_done == ()
    assert decided.timeline[-1].text == ("Secret scanning alert #191: adafruit_io_key — "
                                         "validity re-checked: active")
    inactive = _secret("validated", T0 + timedelta(minutes=9), validity="inactive")
    ticked = decide_alert_change(decided, inactive, CONFIG, NOW)
    assert ticked.incident is not None
    assert ticked.incident.checklist_done == ("revoke_credentials",)
    assert [name for name, _ in ticked.actions[0].sections] == [  # type: ignore[attr-defined]
        "checklist", "evidence", "timeline"]
    assert decide_alert_change(ticked.incident, inactive, CONFIG, NOW) == Decision(
        ticked.incident, ())


def test_reopening_within_the_window_and_linking_after_it() -> None:
    closed = _alert_incident().replace(status="closed", closed_at=T0 + timedelta(days=1))
    back = _secret("reopened", T0 + timedelta(days=20))
    reopened = follow_closed(closed, back, CONFIG, NOW)
    assert reopened is not None and reopened.incident is not None
    assert (reopened.incident.status, reopened.incident.closed_at) == ("open", None)
    assert [type(a).__name__ for a in reopened.actions] == [
        "SetIssueState", "EnsureLabels", "RemoveLabels", "AddLabels", "UpdateIssueSections",
        "Comment"]
    assert follow_closed(reopened.incident.replace(status="closed"), back, CONFIG, NOW) == \
        Decision(reopened.incident.replace(status="closed"), ())  # the same event replayed
    late = _secret("reopened", T0 + timedelta(days=32))
    assert follow_closed(closed, late, CONFIG, NOW) is None
    run = incident().replace(status="closed", closed_at=T0)
    failed = Signal(kind="detection", source="workflow_run", repo=RepoRef("octo-org", "x"),
                    subject="s", event_key="workflow_run:9:1:failure", occurred_at=T0,
                    title="t")
    assert follow_closed(run, failed, CONFIG, NOW) is None  # runs open anew, linked
    new = incident(id="INC-2026-0002", issue_number=None)
    other = Comment("INC-2026-0002", REPO, "kept", key="k")
    linked = link_previous(Decision(new, (*opening_actions(new, CONFIG, NOW), other)), closed,
                           CONFIG, NOW)
    assert linked.incident is not None
    assert linked.incident.evidence[-1].key == "incident:INC-2026-0001"
    _, issue, kept = linked.actions
    assert isinstance(issue, OpenIssue) and "Earlier incident INC-2026-0001" in issue.body
    assert kept == other
