"""Severity policy: the runbook's trigger table, applied to real payload shapes."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

from watchkeeper.runbook.config import default_config, load_config
from watchkeeper.runbook.model import Match
from watchkeeper.runbook.policy import classify, find_rule_for, fingerprint
from watchkeeper.signals import check_run, code_scanning, dependabot, secret_scanning, workflow_run
from watchkeeper.signals.model import Signal

WEBHOOKS = Path(__file__).parent / "fixtures" / "webhooks"
DEFAULTS = default_config()


def load(event: str, name: str) -> dict[str, Any]:
    return json.loads((WEBHOOKS / event / f"{name}.json").read_text(encoding="utf-8"))


def run(name: str = "", path: str = ".github/workflows/test.yml", *, branch: str = "master",
        conclusion: str = "failure", workflow_name: str = "test") -> Signal:
    # Built on the octokit example (which succeeded, with an empty run name).
    payload = load("workflow_run", "completed.payload")
    payload["workflow_run"].update(name=name, path=path, head_branch=branch,
                                   conclusion=conclusion)
    payload["workflow"].update(name=workflow_name, path=path)
    signal = workflow_run.parse(payload)
    assert signal is not None
    return signal


def check(name: str = "CodeQL", *, slug: str | None = "github-advanced-security",
          branch: str = "master", conclusion: str = "failure") -> Signal:
    payload = load("check_run", "completed.1.payload")
    payload["check_run"].update(name=name, conclusion=conclusion)
    payload["check_run"]["app"]["slug"] = slug
    payload["check_run"]["check_suite"]["head_branch"] = branch
    signal = check_run.parse(payload)
    assert signal is not None
    return signal


def code_alert(level: str | None, rule_severity: str = "error", action: str = "created"
               ) -> Signal:
    payload = load("code_scanning_alert", "created.payload")
    payload["action"] = action
    # Added: the example predates rule.security_severity_level.
    if level is not None:
        payload["alert"]["rule"]["security_severity_level"] = level
    payload["alert"]["rule"]["severity"] = rule_severity
    signal = code_scanning.parse(payload)
    assert signal is not None
    return signal


def dependabot_alert(severity: str, *, manifest: str = "package-lock.json", number: int = 20
                     ) -> Signal:
    payload = load("dependabot_alert", "created.payload")
    payload["alert"]["security_advisory"]["severity"] = severity
    payload["alert"]["dependency"]["manifest_path"] = manifest
    payload["alert"]["number"] = number
    signal = dependabot.parse(payload)
    assert signal is not None
    return signal


def test_secret_scan_failure_on_any_branch_is_critical() -> None:
    match = classify(run("Secret scan", ".github/workflows/secrets.yml", branch="feature/x"),
                     DEFAULTS)
    assert match == Match(
        rule="secret_scan",
        severity="critical",
        fingerprint="octo-org/octo-repo|secret_scan|.github/workflows/secrets.yml|feature/x",
        tracker_repo="octo-org/octo-repo",
    )


@pytest.mark.parametrize(
    ("name", "path", "workflow_name"),
    [
        ("", ".github/workflows/gitleaks.yml", "Leaks"),  # empty run name: path matches
        ("", ".github/workflows/scan.yml", "TruffleHog OSS"),  # empty run name: workflow.name
        ("Secret-Scan", ".github/workflows/a.yml", "x"),
        ("nightly secret_scan", ".github/workflows/a.yml", "x"),
    ],
)
def test_secret_scan_is_recognised_by_name_or_path(name: str, path: str,
                                                   workflow_name: str) -> None:
    match = classify(run(name, path, workflow_name=workflow_name), DEFAULTS)
    assert match is not None
    assert (match.rule, match.severity) == ("secret_scan", "critical")


def test_timed_out_counts_cancelled_and_success_do_not() -> None:
    assert classify(run("gitleaks", conclusion="timed_out"), DEFAULTS) is not None
    assert classify(run("gitleaks", conclusion="cancelled"), DEFAULTS) is None
    recovery = run("gitleaks", conclusion="success")
    assert recovery.kind == "recovery"
    assert classify(recovery, DEFAULTS) is None


def test_codeql_workflow_only_on_the_default_branch() -> None:
    match = classify(run("CodeQL", ".github/workflows/codeql.yml"), DEFAULTS)
    assert match == Match("codeql", "high",
                          "octo-org/octo-repo|codeql|.github/workflows/codeql.yml|master",
                          "octo-org/octo-repo")
    assert classify(run("CodeQL", ".github/workflows/codeql.yml", branch="dev"), DEFAULTS) is None
    dynamic = classify(run("", "dynamic/github-code-scanning/codeql", workflow_name=""),
                       DEFAULTS)
    assert dynamic is not None
    assert dynamic.rule == "codeql"


def test_unrelated_workflow_opens_nothing() -> None:
    assert classify(run("CI", ".github/workflows/test.yml", workflow_name="CI"), DEFAULTS) is None


def test_runs_on_watchkeeper_branches_never_open_incidents() -> None:
    assert classify(run("gitleaks", branch="watchkeeper/postmortem-INC-2025-0001"),
                    DEFAULTS) is None
    any_branch = load_config(None, "rules: {code_scanning_check: {branches: any}}\n")
    assert classify(check(branch="feature"), any_branch) is not None
    assert classify(check(branch="watchkeeper/postmortem-INC-2025-0001"), any_branch) is None


def test_code_scanning_check_run() -> None:
    match = classify(check(), DEFAULTS)
    assert match == Match("code_scanning_check", "high",
                          "Codertocat/Hello-World|code_scanning_check|CodeQL|master",
                          "Codertocat/Hello-World")
    by_app = classify(check("Analyze (python)", slug="github-code-scanning"), DEFAULTS)
    assert by_app is not None
    assert by_app.rule == "code_scanning_check"
    assert classify(check(branch="changes"), DEFAULTS) is None
    assert classify(check("Octocoders-linter", slug="github-actions"), DEFAULTS) is None
    assert classify(check(conclusion="timed_out"), DEFAULTS) is None  # only failure, per table
    assert classify(check(conclusion="success"), DEFAULTS) is None


@pytest.mark.parametrize(
    ("level", "rule_severity", "expected"),
    [
        ("critical", "error", "critical"),
        ("high", "warning", "high"),
        ("medium", "error", None),  # the security level decides when present
        ("low", "error", None),
        (None, "error", "high"),  # absent: the rule severity error counts as high
        (None, "warning", None),
        (None, "note", None),
    ],
)
def test_code_scanning_alert_severity(level: str | None, rule_severity: str,
                                      expected: str | None) -> None:
    match = classify(code_alert(level, rule_severity), DEFAULTS)
    assert (match.severity if match else None) == expected
    if match:
        assert match.fingerprint == "Codertocat/Hello-World|code_scanning_alert|10|*"


def test_code_scanning_alert_joins_one_incident_whatever_the_branch() -> None:
    created = classify(code_alert("high"), DEFAULTS)
    appeared = classify(code_alert("high", action="appeared_in_branch"), DEFAULTS)
    assert created is not None and appeared is not None
    assert created.fingerprint == appeared.fingerprint


def test_secret_scanning_alert_is_critical() -> None:
    payload = load("secret_scanning_alert", "reopened.payload")
    payload["alert"]["created_at"] = "2025-03-07T16:30:00Z"  # added: today's payloads have it
    signal = secret_scanning.parse(payload)
    assert signal is not None
    assert classify(signal, DEFAULTS) == Match(
        "secret_scanning_alert", "critical",
        "Codertocat/Hello-World|secret_scanning_alert|191|*", "Codertocat/Hello-World")
    payload["action"] = "resolved"
    resolved = secret_scanning.parse(payload)
    assert resolved is not None
    assert classify(resolved, DEFAULTS) is None


def test_dependabot_only_critical_advisories_open_high_incidents() -> None:
    assert classify(dependabot_alert("medium"), DEFAULTS) is None
    assert classify(dependabot_alert("high"), DEFAULTS) is None
    match = classify(dependabot_alert("critical"), DEFAULTS)
    assert match == Match("dependabot_alert", "high",
                          "wolfy1339/pika-pack|dependabot_alert|GHSA-c2qf-rxjj-qqgw|*",
                          "wolfy1339/pika-pack")


def test_one_advisory_in_several_manifests_is_one_incident() -> None:
    first = classify(dependabot_alert("critical"), DEFAULTS)
    second = classify(dependabot_alert("critical", manifest="web/package-lock.json", number=21),
                      DEFAULTS)
    assert first is not None and second is not None
    assert first.fingerprint == second.fingerprint


def test_incidents_repository_redirects_the_tracker() -> None:
    config = load_config("incidents: {repository: octo-org/security-incidents}\n", None)
    match = classify(run("gitleaks"), config)
    assert match is not None
    assert match.tracker_repo == "octo-org/security-incidents"
    assert match.fingerprint.startswith("octo-org/octo-repo|")


def test_disabled_rules_are_skipped_and_custom_rules_apply() -> None:
    config = load_config(None, """
rules:
  secret_scan: {enabled: false}
  any_scan:
    source: workflow_run
    match: [scan]
    severity: medium
  nightly_cancel:
    source: workflow_run
    match: [nightly]
    conclusions: [cancelled]
    severity: low
""")
    assert config.problems == ()
    match = classify(run("secret scan"), config)
    assert match is not None
    assert (match.rule, match.severity) == ("any_scan", "medium")
    cancelled = classify(run("nightly", conclusion="cancelled"), config)
    assert cancelled is not None
    assert (cancelled.rule, cancelled.severity) == ("nightly_cancel", "low")


def test_first_matching_rule_wins() -> None:
    both = run("CodeQL + gitleaks", ".github/workflows/security.yml")
    match = classify(both, DEFAULTS)
    assert match is not None
    assert match.rule == "secret_scan"


def test_only_detections_are_classified() -> None:
    signal = dataclasses.replace(run("gitleaks"), kind="alert_state")
    assert classify(signal, DEFAULTS) is None


def test_fingerprints_are_readable_and_unambiguous() -> None:
    assert fingerprint("o/r", "secret_scan", ".github/workflows/s.yml", "main") == (
        "o/r|secret_scan|.github/workflows/s.yml|main")
    assert fingerprint("o/r", "dependabot_alert", "GHSA-x", None) == "o/r|dependabot_alert|GHSA-x|*"
    assert fingerprint("o/r", "x", "a|b", "c") != fingerprint("o/r", "x", "a", "b|c")
    assert fingerprint("o/r", "x", "a", "*") != fingerprint("o/r", "x", "a", None)
    assert fingerprint("o/r", "x", "a%7Cb", "c") != fingerprint("o/r", "x", "a|b", "c")


def test_find_rule_for() -> None:
    rule = find_rule_for("codeql", DEFAULTS)
    assert rule is not None
    assert rule.severity == "high"
    assert find_rule_for("removed", DEFAULTS) is None
