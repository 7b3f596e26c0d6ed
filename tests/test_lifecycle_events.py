"""Reading `issues` and `issue_comment` payloads (octokit's examples) into typed events."""

from __future__ import annotations

import copy
from datetime import UTC, datetime

from tests.support import load_payload

from watchkeeper.lifecycle.events import IssueState, parse_issue_comment, parse_issues


def test_issues_edited_without_body_change_has_no_before() -> None:
    # octokit's example carries an empty `changes` object.
    event = parse_issues(load_payload("issues", "edited.payload"))
    assert event is not None
    assert (event.action, event.actor, event.actor_type, event.body_from) == (
        "edited", "Codertocat", "User", None)
    assert event.at == datetime(2019, 5, 15, 15, 20, 18, tzinfo=UTC)
    assert event.issue == IssueState("Codertocat/Hello-World", 1, event.issue.body, ("bug",),
                                     ("Codertocat",), None)
    assert event.issue.body.startswith("It looks like you accidently spelled")


def test_issues_edited_with_body_change_keeps_the_before() -> None:
    payload = copy.deepcopy(load_payload("issues", "edited.payload"))
    payload["changes"] = {"body": {"from": "- [ ] old"}}  # adjusted: a body edit
    event = parse_issues(payload)
    assert event is not None and event.body_from == "- [ ] old"
    payload["changes"] = {"body": {"from": None}}  # an issue that had no body
    assert parse_issues(payload).body_from == ""  # type: ignore[union-attr]


def test_label_and_assignee_events() -> None:
    labeled = parse_issues(load_payload("issues", "labeled.payload"))
    assert labeled is not None and (labeled.action, labeled.label) == ("labeled", "bug")
    unlabeled = parse_issues(load_payload("issues", "unlabeled.payload"))
    assert unlabeled is not None and unlabeled.action == "unlabeled"
    assigned = parse_issues(load_payload("issues", "assigned.with-installation.payload"))
    assert assigned is not None and assigned.assignee == "Codertocat"
    assert assigned.issue.installation_id is not None
    unassigned = parse_issues(load_payload("issues", "unassigned.payload"))
    assert unassigned is not None and unassigned.assignee == "Codertocat"


def test_other_issue_actions_and_unreadable_payloads_are_ignored() -> None:
    assert parse_issues(load_payload("issues", "opened.payload")) is None
    assert parse_issues(load_payload("issues", "locked.payload")) is None
    broken = copy.deepcopy(load_payload("issues", "labeled.payload"))
    del broken["repository"]
    assert parse_issues(broken) is None
    nobody = copy.deepcopy(load_payload("issues", "labeled.payload"))
    del nobody["sender"]
    assert parse_issues(nobody) is None


def test_comment_created_and_edited() -> None:
    created = parse_issue_comment(load_payload("issue_comment", "created.payload"))
    assert created is not None
    assert (created.action, created.comment_id, created.actor, created.body_from) == (
        "created", 492700400, "Codertocat", None)
    assert created.at == datetime(2019, 5, 15, 15, 20, 21, tzinfo=UTC)
    assert created.url == ("https://github.com/Codertocat/Hello-World/issues/1"
                           "#issuecomment-492700400")
    edited = parse_issue_comment(load_payload("issue_comment", "edited.payload"))
    assert edited is not None and edited.action == "edited"
    assert edited.at == datetime(2019, 5, 15, 15, 20, 22, tzinfo=UTC)  # updated_at
    assert edited.body_from == "You are totally right! I'll get this fixed right away."


def test_deleted_comments_and_pull_request_comments_are_ignored() -> None:
    assert parse_issue_comment(load_payload("issue_comment", "deleted.payload")) is None
    on_pr = copy.deepcopy(load_payload("issue_comment", "created.payload"))
    on_pr["issue"]["pull_request"] = {"url": "https://api.github.com/x"}  # adjusted: a PR
    assert parse_issue_comment(on_pr) is None
