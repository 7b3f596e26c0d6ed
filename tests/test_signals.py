"""Pure parsers: real webhook payloads -> exact Signals; hostile payloads -> one error type."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from watchkeeper.routing import MalformedPayload, Router, default_router
from watchkeeper.signals import code_scanning, dependabot, secret_scanning, workflow_run
from watchkeeper.signals.model import RepoRef, Signal
from watchkeeper.signals.origin import is_own_event, is_watchkeeper_branch

WEBHOOKS = Path(__file__).parent / "fixtures" / "webhooks"
RECEIVED = datetime(2025, 3, 7, 16, 45, tzinfo=UTC)


def load(event: str, name: str) -> dict[str, Any]:
    return json.loads((WEBHOOKS / event / f"{name}.json").read_text(encoding="utf-8"))


def failing_run() -> dict[str, Any]:
    # The octokit example run succeeded and has an empty `name`: copy it and make it fail.
    payload = load("workflow_run", "completed.payload")
    payload["workflow_run"]["conclusion"] = "failure"
    return payload


OCTO_REPO = RepoRef(owner="octo-org", name="octo-repo", private=False, default_branch="master",
                    id=300029405)
HELLO_WORLD_PRIVATE = RepoRef(owner="Codertocat", name="Hello-World", private=True,
                              default_branch="master", id=337911632)
HELLO_WORLD_PUBLIC = RepoRef(owner="Codertocat", name="Hello-World", private=False,
                             default_branch="master", id=186853002)


def test_failed_workflow_run() -> None:
    [signal] = default_router().route("workflow_run", failing_run())
    assert signal == Signal(
        kind="detection",
        source="workflow_run",
        repo=OCTO_REPO,
        subject=".github/workflows/test.yml",
        event_key="workflow_run:289782451:1:failure",
        occurred_at=datetime(2020, 10, 5, 16, 33, 49, tzinfo=UTC),
        title="Workflow test failed on master",
        installation_id=None,
        branch="master",
        commit_sha="3484a3fb816e0859fd6e1cea078d76385ff50625",
        url="https://github.com/octo-org/octo-repo/actions/runs/289782451",
        state="failure",
        facts={
            "workflow_name": "test",  # workflow_run.name is "": from workflow.name
            "workflow_path": ".github/workflows/test.yml",
            "workflow_id": "2823525",
            "run_id": "289782451",
            "run_attempt": "1",
            "run_number": "163",
            "trigger_event": "repository_dispatch",
            "display_title": "ci(action): update actions/setup-node digest to 8c91899",
            "head_repository": "octo-org/octo-repo",
            "actor": "Codertocat",
        },
        sender="Codertocat",
    )


def test_workflow_name_falls_back_to_the_path() -> None:
    payload = failing_run()
    del payload["workflow"]
    payload["workflow_run"]["path"] = "dynamic/github-code-scanning/codeql"
    payload["workflow_run"]["run_attempt"] = 2
    payload["workflow_run"]["conclusion"] = "timed_out"
    signal = workflow_run.parse(payload)
    assert signal is not None
    assert signal.facts["workflow_name"] == "dynamic/github-code-scanning/codeql"
    assert signal.subject == "dynamic/github-code-scanning/codeql"
    assert signal.event_key == "workflow_run:289782451:2:timed_out"
    assert signal.title == "Workflow dynamic/github-code-scanning/codeql timed out on master"


@pytest.mark.parametrize("name", ["completed.payload", "completed.with-pull-requests.payload"])
def test_successful_workflow_run_is_a_recovery(name: str) -> None:
    [signal] = default_router().route("workflow_run", load("workflow_run", name))
    assert (signal.kind, signal.state, signal.event_key) == (
        "recovery", "success", "workflow_run:289782451:1:success")
    assert signal.title == "Workflow test succeeded on master"


@pytest.mark.parametrize(
    ("conclusion", "kind"),
    [("failure", "detection"), ("timed_out", "detection"), ("startup_failure", "detection"),
     ("cancelled", "detection"), ("success", "recovery"), ("neutral", None), ("skipped", None),
     (None, None)],
)
def test_run_conclusions(conclusion: str | None, kind: str | None) -> None:
    payload = failing_run()
    payload["workflow_run"]["conclusion"] = conclusion
    signal = workflow_run.parse(payload)
    assert (signal.kind if signal else None) == kind


@pytest.mark.parametrize("name", ["requested.payload", "requested.with-conclusion.payload"])
def test_unfinished_runs_are_ignored(name: str) -> None:
    assert default_router().route("workflow_run", load("workflow_run", name)) == []


def test_failed_check_run() -> None:
    [signal] = default_router().route("check_run", load("check_run", "completed.1.payload"))
    assert signal == Signal(
        kind="detection",
        source="check_run",
        repo=HELLO_WORLD_PUBLIC,
        subject="Octocoders-linter",
        event_key="check_run:128620228:failure",
        occurred_at=datetime(2019, 5, 15, 15, 21, 12, tzinfo=UTC),
        title="Check Octocoders-linter failed on changes",
        installation_id=None,
        branch="changes",
        commit_sha="ec26c3e57ca3a959ca5aad62de7213c562f8c821",
        url="https://github.com/Codertocat/Hello-World/runs/128620228",
        state="failure",
        facts={
            "check_name": "Octocoders-linter",
            "check_run_id": "128620228",
            "check_suite_id": "118578147",
            "app_slug": "github-actions",
            "app_name": "octocoders-linter",
        },
        sender="Codertocat",
    )


@pytest.mark.parametrize("name", ["completed.payload", "completed.with-organization.payload"])
def test_passing_check_run_is_a_recovery(name: str) -> None:
    [signal] = default_router().route("check_run", load("check_run", name))
    assert (signal.kind, signal.event_key, signal.title) == (
        "recovery", "check_run:128620228:success", "Check Octocoders-linter passed on changes")
    assert "app_slug" not in signal.facts  # these examples' app has no slug


@pytest.mark.parametrize("name", ["created.payload", "requested_action.payload",
                                  "rerequested.payload"])
def test_other_check_run_actions_are_ignored(name: str) -> None:
    assert default_router().route("check_run", load("check_run", name)) == []


def test_code_scanning_alert_created() -> None:
    payload = load("code_scanning_alert", "created.payload")
    # The example predates `rule.security_severity_level`; today's deliveries carry it.
    payload["alert"]["rule"]["security_severity_level"] = "high"
    [signal] = default_router().route("code_scanning_alert", payload)
    assert signal == Signal(
        kind="detection",
        source="code_scanning_alert",
        repo=HELLO_WORLD_PRIVATE,
        subject="10",
        event_key="code_scanning_alert:Codertocat/Hello-World:10:created:"
        "refs/heads/code-feature@788437584c2522f27feab10d8e631bab3e9e783a",
        occurred_at=datetime(2021, 2, 11, 3, 10, 43, tzinfo=UTC),
        title="Code scanning alert #10: Query built from user-controlled sources",
        installation_id=14662836,
        branch="code-feature",
        commit_sha="788437584c2522f27feab10d8e631bab3e9e783a",
        url="https://github.com/Codertocat/Hello-World/security/code-scanning/10",
        state="open",
        facts={
            "alert_number": "10",
            "action": "created",
            "rule_id": "java/sql-injection",
            "rule_description": "Query built from user-controlled sources",
            "rule_severity": "error",
            "security_severity_level": "high",
            "tool_name": "CodeQL",
            "ref": "refs/heads/code-feature",
            "location_path": "src/main/java/com/github/demo/service/BookService.java",
        },
        sender="github",
    )


@pytest.mark.parametrize("name", ["reopened.payload", "reopened.with-organization.payload"])
def test_code_scanning_alert_reopened(name: str) -> None:
    [signal] = default_router().route("code_scanning_alert", load("code_scanning_alert", name))
    assert (signal.kind, signal.subject, signal.branch, signal.occurred_at) == (
        "detection", "10", "master", datetime(2020, 7, 22, 14, 6, 31, tzinfo=UTC))
    assert signal.facts["rule_severity"] == "note"
    assert "security_severity_level" not in signal.facts


def test_code_scanning_reopen_uses_updated_at_when_present() -> None:
    payload = load("code_scanning_alert", "reopened.payload")
    payload["alert"]["updated_at"] = "2024-01-02T03:04:05Z"  # added: newer payloads carry it
    signal = code_scanning.parse(payload)
    assert signal is not None
    assert signal.occurred_at == datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert signal.event_key.endswith(":reopened:2024-01-02T03:04:05Z")


def test_code_scanning_fixed_and_closed_are_recoveries() -> None:
    fixed = code_scanning.parse(load("code_scanning_alert", "fixed.payload"),
                                received_at=RECEIVED)
    assert fixed is not None
    # No fixed_at/updated_at in the example: the delivery's receipt time stands in.
    assert (fixed.kind, fixed.state, fixed.branch, fixed.occurred_at) == (
        "recovery", "fixed", None, RECEIVED)
    assert fixed.facts["ref"] == "refs/pull/11/merge"
    closed = code_scanning.parse(load("code_scanning_alert", "closed-by-user.payload"))
    assert closed is not None
    # `ref` is empty for *_by_user actions: the latest instance's ref is used.
    assert (closed.kind, closed.state, closed.branch, closed.occurred_at) == (
        "recovery", "dismissed", "master", datetime(2021, 2, 11, 2, 59, 8, tzinfo=UTC))
    assert closed.facts["dismissed_reason"] == "false positive"
    assert closed.facts["dismissed_by"] == "Codertocat"


def test_secret_scanning_alert_reopened() -> None:
    payload = load("secret_scanning_alert", "reopened.payload")
    # The example carries no timestamps at all: the delivery's receipt time stands in.
    [signal] = default_router().route("secret_scanning_alert", payload, received_at=RECEIVED)
    assert signal == Signal(
        kind="detection",
        source="secret_scanning_alert",
        repo=RepoRef(owner="Codertocat", name="Hello-World", private=True,
                     default_branch="master", id=257423561),
        subject="191",
        event_key="secret_scanning_alert:Codertocat/Hello-World:191:reopened:",
        occurred_at=RECEIVED,
        title="Secret scanning alert #191: adafruit_io_key",
        installation_id=None,
        branch=None,
        commit_sha=None,
        url=None,
        state="open",
        facts={"alert_number": "191", "action": "reopened", "secret_type": "adafruit_io_key"},
        sender="Codertocat",
    )
    with pytest.raises(MalformedPayload, match="timestamp"):
        default_router().route("secret_scanning_alert", payload)


def secret_alert(action: str, **alert: Any) -> dict[str, Any]:
    # Built on the example, with the fields today's deliveries carry (added).
    payload = load("secret_scanning_alert", "reopened.payload")
    payload["action"] = action
    payload["alert"].update({"created_at": "2025-03-07T16:30:00Z",
                             "updated_at": "2025-03-07T16:40:00Z",
                             "html_url": "https://github.com/Codertocat/Hello-World/security/"
                                         "secret-scanning/191",
                             "state": "open", **alert})
    return payload


def test_secret_scanning_created_push_protection_bypass() -> None:
    payload = secret_alert("created", push_protection_bypassed=True,
                           push_protection_bypassed_by={"login": "mallory", "type": "User"},
                           secret="must-never-be-read", validity="active")
    signal = secret_scanning.parse(payload)
    assert signal is not None
    assert (signal.kind, signal.occurred_at) == ("detection",
                                                 datetime(2025, 3, 7, 16, 30, tzinfo=UTC))
    assert signal.facts == {
        "alert_number": "191", "action": "created", "secret_type": "adafruit_io_key",
        "validity": "active", "push_protection_bypassed": "true",
        "push_protection_bypassed_by": "mallory",
    }
    assert "must-never-be-read" not in repr(signal)


@pytest.mark.parametrize(
    ("action", "kind", "extra", "fact"),
    [
        ("resolved", "recovery", {"resolution": "revoked", "state": "resolved"},
         ("resolution", "revoked")),
        ("validated", "alert_state", {"validity": "inactive"}, ("validity", "inactive")),
        ("publicly_leaked", "detection", {}, ("publicly_leaked", "true")),
    ],
)
def test_secret_scanning_other_actions(
    action: str, kind: str, extra: dict[str, Any], fact: tuple[str, str]
) -> None:
    signal = secret_scanning.parse(secret_alert(action, **extra))
    assert signal is not None
    assert signal.kind == kind
    assert signal.facts[fact[0]] == fact[1]
    assert signal.event_key == f"secret_scanning_alert:Codertocat/Hello-World:191:{action}:" \
                               "2025-03-07T16:40:00Z"


def test_dependabot_alert_created() -> None:
    [signal] = default_router().route("dependabot_alert", load("dependabot_alert",
                                                               "created.payload"))
    assert signal == Signal(
        kind="detection",
        source="dependabot_alert",
        repo=RepoRef(owner="wolfy1339", name="pika-pack", private=False,
                     default_branch="master", id=512875663),
        subject="GHSA-c2qf-rxjj-qqgw",
        event_key="dependabot_alert:wolfy1339/pika-pack:20:created:2023-06-24T13:57:12Z",
        occurred_at=datetime(2023, 6, 24, 13, 57, 12, tzinfo=UTC),
        title="Dependabot alert #20: semver vulnerable to Regular Expression Denial of Service",
        installation_id=13986380,
        branch=None,
        commit_sha=None,
        url="https://github.com/wolfy1339/pika-pack/security/dependabot/20",
        state="open",
        facts={
            "alert_number": "20",
            "action": "created",
            "ghsa_id": "GHSA-c2qf-rxjj-qqgw",
            "cve_id": "CVE-2022-25883",
            "advisory_severity": "medium",
            "summary": "semver vulnerable to Regular Expression Denial of Service",
            "package": "semver",
            "ecosystem": "npm",
            "manifest_path": "package-lock.json",
            "scope": "runtime",
            "vulnerable_version_range": "< 7.5.2",
            "first_patched_version": "7.5.2",
        },
        sender="github",
    )


def test_dependabot_alert_fixed() -> None:
    [signal] = default_router().route("dependabot_alert", load("dependabot_alert",
                                                               "fixed.payload"))
    assert (signal.kind, signal.subject, signal.state, signal.occurred_at) == (
        "recovery", "GHSA-8f4m-hccc-8qph", "fixed", datetime(2022, 6, 15, 13, 55, 40, tzinfo=UTC))
    assert signal.event_key == "dependabot_alert:octocat/hello-world:1:fixed:2022-06-15T13:55:40Z"


@pytest.mark.parametrize(
    ("action", "kind"),
    [("reintroduced", "detection"), ("reopened", "detection"), ("auto_reopened", "detection"),
     ("dismissed", "recovery"), ("auto_dismissed", "recovery"), ("withdrawn", "alert_state"),
     ("assignees_changed", None)],
)
def test_dependabot_actions(action: str, kind: str | None) -> None:
    payload = load("dependabot_alert", "created.payload")
    payload["action"] = action
    signal = dependabot.parse(payload)
    assert (signal.kind if signal else None) == kind


# --- routing -----------------------------------------------------------------------------


def test_router_runs_parsers_in_registration_order() -> None:
    calls: list[str] = []

    def make(name: str) -> Any:
        def parser(payload: Any, *, received_at: Any = None) -> None:
            calls.append(name)

        return parser

    router = Router()
    router.register("workflow_run", make("first"), actions=("completed",))
    router.register("workflow_run", make("second"))
    router.register("check_run", make("other"))
    router.register("workflow_run", make("third"), actions=("requested",))
    assert router.route("workflow_run", {"action": "completed"}) == []
    assert calls == ["first", "second"]
    assert router.handles("workflow_run", "requested")
    assert not router.handles("issues", "opened")


def test_default_router_covers_the_five_sources() -> None:
    router = default_router()
    for event, action in [("workflow_run", "completed"), ("check_run", "completed"),
                          ("code_scanning_alert", "appeared_in_branch"),
                          ("secret_scanning_alert", "publicly_leaked"),
                          ("dependabot_alert", "auto_reopened")]:
        assert router.handles(event, action)
    assert not router.handles("workflow_run", "requested")
    assert router.route("issues", load("issues", "opened.payload")) == []


def test_unexpected_parser_errors_become_malformed_payload() -> None:
    def broken(payload: Any, *, received_at: Any = None) -> None:
        raise KeyError("x")

    router = Router()
    router.register("ping", broken)
    with pytest.raises(MalformedPayload):
        router.route("ping", {})
    with pytest.raises(MalformedPayload):
        router.route("ping", [])  # type: ignore[arg-type]


SOURCES = [
    ("workflow_run", "workflow_run", "completed.payload"),
    ("workflow_run", "workflow_run", "completed.with-pull-requests.payload"),
    ("check_run", "check_run", "completed.1.payload"),
    ("code_scanning_alert", "code_scanning_alert", "created.payload"),
    ("code_scanning_alert", "code_scanning_alert", "closed-by-user.payload"),
    ("secret_scanning_alert", "secret_scanning_alert", "reopened.payload"),
    ("dependabot_alert", "dependabot_alert", "created.payload"),
    ("dependabot_alert", "dependabot_alert", "fixed.payload"),
]


def _paths(data: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix] if prefix else []
    if isinstance(data, dict):
        for key, value in data.items():
            found += _paths(value, (*prefix, key))
    elif isinstance(data, list):
        for index, value in enumerate(data[:2]):
            found += _paths(value, (*prefix, index))
    return found


_HOSTILE = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True),
                     st.text(max_size=5), st.lists(st.integers(), max_size=2),
                     st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
                     st.just("refs/heads/"), st.just("2025-13-45T99:00:00Z"))


@pytest.mark.parametrize(("event", "folder", "name"), SOURCES)
@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_hostile_variants_never_escape_as_other_errors(
    event: str, folder: str, name: str, data: st.DataObject
) -> None:
    payload = load(folder, name)
    if folder == "workflow_run":
        payload["workflow_run"]["conclusion"] = "failure"
    paths = _paths(payload)
    for _ in range(data.draw(st.integers(1, 4))):
        path = data.draw(st.sampled_from(paths))
        holder: Any = payload
        try:
            for part in path[:-1]:
                holder = holder[part]
            if data.draw(st.booleans()) and isinstance(holder, dict):
                holder.pop(path[-1], None)
            else:
                holder[path[-1]] = data.draw(_HOSTILE)
        except (KeyError, IndexError, TypeError):
            continue  # an earlier mutation already replaced a parent
    try:
        signals = default_router().route(event, payload)
    except MalformedPayload:
        return
    for signal in signals:
        assert isinstance(signal, Signal)
        assert signal.occurred_at.tzinfo is UTC
        assert all(isinstance(v, str) for v in signal.facts.values())


@pytest.mark.parametrize("event", ["workflow_run", "check_run", "code_scanning_alert",
                                   "secret_scanning_alert", "dependabot_alert"])
@pytest.mark.parametrize("payload", [{}, {"action": "completed"}, {"action": "created"},
                                     {"action": "completed", "workflow_run": []},
                                     {"action": "created", "alert": {"number": "1"}},
                                     {"action": 5, "repository": None}])
def test_skeleton_payloads(event: str, payload: dict[str, Any]) -> None:
    router = default_router()
    action = payload.get("action")
    if router.handles(event, action if isinstance(action, str) else None):
        with pytest.raises(MalformedPayload):
            router.route(event, payload)
    else:
        assert router.route(event, payload) == []


# --- origin ------------------------------------------------------------------------------


def test_own_events_are_recognised() -> None:
    comment = load("issue_comment", "created.payload")
    assert not is_own_event(comment, "watchkeeper")
    as_bot = copy.deepcopy(comment)
    as_bot["sender"] = {"login": "watchkeeper[bot]", "type": "Bot"}
    assert is_own_event(as_bot, "watchkeeper")
    assert not is_own_event(as_bot, "other-app")
    assert not is_own_event(as_bot, None)
    impostor = copy.deepcopy(comment)
    impostor["sender"] = {"login": "watchkeeper[bot]", "type": "User"}
    assert not is_own_event(impostor, "watchkeeper")
    via_app = copy.deepcopy(comment)
    via_app["comment"]["performed_via_github_app"] = {"slug": "watchkeeper", "id": 1}
    assert is_own_event(via_app, "watchkeeper")
    # An issue the app created keeps performed_via_github_app when a person edits it:
    # that person's edit is not the app's own event.
    person_edit = load("issues", "edited.payload")
    person_edit["issue"]["performed_via_github_app"] = {"slug": "watchkeeper"}
    assert not is_own_event(person_edit, "watchkeeper")
    assert not is_own_event({"sender": None}, "watchkeeper")


def test_watchkeeper_branches() -> None:
    assert is_watchkeeper_branch("watchkeeper/postmortem-INC-2025-0001")
    assert not is_watchkeeper_branch("main")
    assert not is_watchkeeper_branch("feature/watchkeeper/x")
    assert not is_watchkeeper_branch(None)
