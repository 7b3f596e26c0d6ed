"""The executor against the stateful fake: every action idempotent under retries."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from watchkeeper.actions import (
    AddLabels,
    Comment,
    EnsureLabels,
    LabelSpec,
    OpenIssue,
    RemoveLabels,
    SetAssignees,
    SetIssueState,
    UpdateIssueSections,
)
from watchkeeper.errors import PermanentError, RetryableError
from watchkeeper.github.client import GitHubGateway
from watchkeeper.github.executor import Executor, PlanningExecutor, comment_marker
from watchkeeper.github.fake import FakeGitHub
from watchkeeper.record import Incident
from watchkeeper.render.markers import incident_marker, section

REPO = "acme/tracker"
INST = 7
T0 = datetime(2024, 5, 6, 9, 30, tzinfo=UTC)


@pytest.fixture
def fake() -> FakeGitHub:
    fake = FakeGitHub()
    fake.add_repo(REPO, installation_id=INST)
    return fake


@pytest.fixture
def executor(fake: FakeGitHub) -> Executor:
    return Executor(GitHubGateway(fake.app_id, fake.private_key, fake.api_url, transport=fake,
                                  mutation_interval=0))


def _incident(issue_number: int | None = None, incident_id: str = "INC-2024-0001") -> Incident:
    return Incident(
        id=incident_id, fingerprint="fp", repo="acme/api", tracker_repo=REPO,
        installation_id=INST, severity="high", status="open", rule="secret_scan",
        source="secret_scanning_alert", title="Leaked token", detected_at=T0, recorded_at=T0,
        issue_number=issue_number,
    )


def _open(incident_id: str = "INC-2024-0001", labels: tuple[str, ...] = ("incident",)
          ) -> OpenIssue:
    marker = incident_marker(incident_id)
    return OpenIssue(incident_id, REPO, f"[{incident_id}] Leaked token",
                     f"Body\n\n{marker}\n", labels, marker, assignees=("alice",))


# --- OpenIssue ---------------------------------------------------------------------------

async def test_open_issue_creates_and_records_the_number(fake: FakeGitHub,
                                                         executor: Executor) -> None:
    done = await executor.execute(_incident(), [_open()], first_attempt=True)
    assert done.issue_number == 1
    issue = fake.issue(REPO, 1)
    assert (issue.title, issue.labels, issue.assignees) == (
        "[INC-2024-0001] Leaked token", ["incident"], ["alice"])
    assert [(r.method, r.path) for r in fake.requests[1:]] == [
        ("POST", "/repos/acme/tracker/issues")]


async def test_open_issue_retried_after_a_lost_answer_finds_its_issue(
    fake: FakeGitHub, executor: Executor
) -> None:
    fake.person_open_issue(REPO, "unrelated", f"{incident_marker('INC-2024-0002')}",
                           labels=["incident"])
    fake.fail_next("POST", r"/repos/acme/tracker/issues", 502, after=True)  # created, then 502
    with pytest.raises(RetryableError):
        await executor.execute(_incident(), [_open()], first_attempt=True)
    assert len(fake.issues(REPO)) == 2

    done = await executor.execute(_incident(), [_open()], first_attempt=False)
    assert done.issue_number == 2
    assert len(fake.calls("POST", r"/repos/acme/tracker/issues")) == 1  # no second create
    assert fake.calls("GET", r"/repos/acme/tracker/issues")[0].query == {
        "labels": "incident", "state": "all", "per_page": "100"}


async def test_open_issue_retried_when_nothing_was_created(fake: FakeGitHub,
                                                           executor: Executor) -> None:
    fake.fail_next("POST", r"/repos/acme/tracker/issues", 502)  # failed before taking effect
    with pytest.raises(RetryableError):
        await executor.execute(_incident(), [_open()], first_attempt=True)
    done = await executor.execute(_incident(), [_open()], first_attempt=False)
    assert done.issue_number == 1 and len(fake.issues(REPO)) == 1


async def test_open_issue_is_a_no_op_when_the_number_is_known(fake: FakeGitHub,
                                                              executor: Executor) -> None:
    done = await executor.execute(_incident(issue_number=5), [_open()], first_attempt=False)
    assert done.issue_number == 5 and fake.requests == []


async def test_first_attempt_does_not_search(fake: FakeGitHub, executor: Executor) -> None:
    await executor.execute(_incident(), [_open()], first_attempt=True)
    assert fake.calls("GET") == []


# --- Comment -----------------------------------------------------------------------------

async def test_comment_retried_finds_its_key(fake: FakeGitHub, executor: Executor) -> None:
    fake.person_open_issue(REPO, "incident")
    fake.person_comment(REPO, 1, "a human talking")
    action = Comment("INC-2024-0001", REPO, "Occurred again", key="occurrence:run:9:1")
    fake.fail_next("POST", r"/repos/acme/tracker/issues/1/comments", 502, after=True)
    with pytest.raises(RetryableError):
        await executor.execute(_incident(1), [action], first_attempt=True)
    await executor.execute(_incident(1), [action], first_attempt=False)
    bodies = [c.body for c in fake.issue(REPO, 1).comments]
    assert bodies == ["a human talking",
                      "Occurred again\n\n<!-- watchkeeper:comment occurrence:run:9:1 -->"]
    assert len(fake.calls("POST", r"/repos/acme/tracker/issues/1/comments")) == 1

    other = Comment("INC-2024-0001", REPO, "Recovered", key="recovered:run:9:2")
    await executor.execute(_incident(1), [other], first_attempt=False)
    assert len(fake.issue(REPO, 1).comments) == 3


def test_comment_marker_cannot_end_the_html_comment() -> None:
    assert comment_marker("a --> <b> c") == "<!-- watchkeeper:comment a_-___b__c -->"
    assert comment_marker("x" * 500).count("x") == 200


# --- UpdateIssueSections -----------------------------------------------------------------

def _body(summary: str) -> str:
    return (f"People wrote this.\n\n{section('summary', summary)}\n\n"
            f"{section('timeline', '- detected')}\n\nAnd this.\n")


async def test_update_sections_keeps_text_outside_markers(fake: FakeGitHub,
                                                          executor: Executor) -> None:
    fake.person_open_issue(REPO, "Title", _body("old summary"))
    fake.person_edit_issue_body(REPO, 1, _body("old summary") + "\nA late human note.\n")
    action = UpdateIssueSections("INC-2024-0001", REPO, (("summary", "new summary"),))
    await executor.execute(_incident(1), [action], first_attempt=True)
    assert fake.issue(REPO, 1).body == _body("new summary") + "\nA late human note.\n"
    assert [p.json for p in fake.calls("PATCH")] == [
        {"body": _body("new summary") + "\nA late human note.\n"}]


async def test_update_sections_does_not_patch_when_unchanged(fake: FakeGitHub,
                                                             executor: Executor) -> None:
    fake.person_open_issue(REPO, "Title", _body("same"))
    action = UpdateIssueSections("INC-2024-0001", REPO, (("summary", "same"),), title="Title")
    await executor.execute(_incident(1), [action], first_attempt=False)
    assert fake.calls("PATCH") == []
    retitled = UpdateIssueSections("INC-2024-0001", REPO, (("summary", "same"),), title="New")
    await executor.execute(_incident(1), [retitled], first_attempt=False)
    assert [p.json for p in fake.calls("PATCH")] == [{"title": "New"}]


# --- the other actions -------------------------------------------------------------------

async def test_labels_assignees_and_state(fake: FakeGitHub, executor: Executor) -> None:
    fake.person_open_issue(REPO, "Title", labels=["incident", "severity: high"])
    actions = [
        EnsureLabels(REPO, (LabelSpec("status: contained", "0e8a16", "Contained"),)),
        AddLabels("INC-2024-0001", REPO, ("status: contained",)),
        RemoveLabels("INC-2024-0001", REPO, ("severity: high", "not-present")),
        SetAssignees("INC-2024-0001", REPO, ("bob", "carol")),
        SetIssueState("INC-2024-0001", REPO, "closed", "completed"),
    ]
    await executor.execute(_incident(1), actions, first_attempt=True)
    issue = fake.issue(REPO, 1)
    assert issue.labels == ["incident", "status: contained"]
    assert issue.assignees == ["bob", "carol"]
    assert (issue.state, issue.state_reason) == ("closed", "completed")
    label = fake.repo(REPO).label("status: contained")
    assert label is not None and label.color == "0e8a16"

    fake.requests.clear()
    await executor.execute(_incident(1), actions[:1], first_attempt=False)
    assert fake.requests == []  # labels known from the first run


async def test_issue_actions_without_an_issue_are_skipped(
    fake: FakeGitHub, executor: Executor, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="watchkeeper.github.executor")
    actions = [AddLabels("INC-2024-0001", REPO, ("x",)),
               Comment("INC-2024-0001", REPO, "hi", key="k")]
    done = await executor.execute(_incident(), actions, first_attempt=True)
    assert done == _incident() and fake.requests == []
    assert caplog.messages == [
        "skipping AddLabels: incident INC-2024-0001 has no issue yet",
        "skipping Comment: incident INC-2024-0001 has no issue yet",
    ]


async def test_actions_after_open_issue_use_the_new_number(fake: FakeGitHub,
                                                           executor: Executor) -> None:
    actions = [_open(), Comment("INC-2024-0001", REPO, "Welcome", key="welcome")]
    done = await executor.execute(_incident(), actions, first_attempt=True)
    assert done.issue_number == 1 and len(fake.issue(REPO, 1).comments) == 1


async def test_a_fresh_issue_that_404s_is_retried_later(fake: FakeGitHub,
                                                        executor: Executor) -> None:
    fake.fail_next("GET", r"/repos/acme/tracker/issues/1", 404)
    actions = [_open(), UpdateIssueSections("INC-2024-0001", REPO, (("summary", "s"),))]
    with pytest.raises(RetryableError) as caught:
        await executor.execute(_incident(), actions, first_attempt=True)
    assert caught.value.retry_after == 5.0
    fake.fail_next("GET", r"/repos/acme/tracker/issues/1", 404)
    with pytest.raises(PermanentError):  # an older issue that 404s is gone for good
        await executor.execute(_incident(1), actions[1:], first_attempt=True)


async def test_no_installation_is_permanent(executor: Executor) -> None:
    with pytest.raises(PermanentError, match="has no installation"):
        await executor.execute(_incident().replace(installation_id=None), [_open()],
                               first_attempt=True)


@dataclass(frozen=True)
class Ping:
    incident_id: str
    repo: str


async def test_new_action_types_plug_in(fake: FakeGitHub, executor: Executor) -> None:
    with pytest.raises(PermanentError, match="no way to perform Ping"):
        await executor.execute(_incident(1), [Ping("INC-2024-0001", REPO)],
                               first_attempt=True)
    seen: list[tuple[int | None, str]] = []

    async def ping(incident: Incident, action: Ping, first_attempt: bool) -> Incident:
        seen.append((incident.issue_number, action.repo))
        return incident

    executor.register(Ping, ping)
    await executor.execute(_incident(1), [Ping("INC-2024-0001", REPO)],
                           first_attempt=True)
    assert seen == [(1, REPO)]


# --- dry run -----------------------------------------------------------------------------

async def test_planning_executor_plans_without_calling() -> None:
    planner = PlanningExecutor(first_issue_number=41)
    actions = [
        EnsureLabels(REPO, (LabelSpec("incident", "d73a4a", ""),)),
        _open(),
        UpdateIssueSections("INC-2024-0001", REPO, (("summary", "s"), ("timeline", "t"))),
        AddLabels("INC-2024-0001", REPO, ("status: contained",)),
        RemoveLabels("INC-2024-0001", REPO, ("severity: high",)),
        SetAssignees("INC-2024-0001", REPO, ()),
        Comment("INC-2024-0001", REPO, "Occurred\nagain", key="occ:1"),
        SetIssueState("INC-2024-0001", REPO, "closed", "completed"),
    ]
    done = await planner.execute(_incident(), actions, first_attempt=True)
    assert done.issue_number == 41
    assert planner.lines() == [
        "POST /repos/acme/tracker/labels  create any missing label of: incident",
        "POST /repos/acme/tracker/issues  open issue '[INC-2024-0001] Leaked token' "
        "labels [incident] -> #41 (planned)",
        "PATCH /repos/acme/tracker/issues/41  rewrite sections summary, timeline (if changed)",
        "POST /repos/acme/tracker/issues/41/labels  add labels status: contained",
        "DELETE /repos/acme/tracker/issues/41/labels/severity: high  remove label severity: high",
        "PATCH /repos/acme/tracker/issues/41  assignees (none)",
        "POST /repos/acme/tracker/issues/41/comments  comment [occ:1] 'Occurred again'",
        "PATCH /repos/acme/tracker/issues/41  state closed (completed)",
    ]
