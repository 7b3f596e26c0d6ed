"""Preventive actions: the runbook's controls that fit each source, the table read back, and
which rows become follow-up issues; the `closure` config section."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from tests.closure_story import worked
from tests.test_config_schema import schema_errors

from watchkeeper.closure import preventive
from watchkeeper.runbook.config import load_config, validate_text
from watchkeeper.runbook.model import ClosureConfig


def keys_and_controls(source: str, rule: str, facts: tuple[tuple[str, str], ...] = (),
                      lag: timedelta | None = None) -> list[tuple[str, str]]:
    incident = worked().replace(source=source, rule=rule, facts=facts)
    return [(p.key, p.action) for p in preventive.proposals(incident, lag)]


def test_each_source_gets_the_controls_that_fit_it() -> None:
    secret = keys_and_controls("secret_scanning_alert", "secret_scanning_alert",
                               (("secret_type", "github_personal_access_token"),))
    assert secret[1] == ("security-rule", "Block this secret type before it lands: push "
                         "protection or a pre-commit secret scan for "
                         "github_personal_access_token")
    code = keys_and_controls("code_scanning_alert", "code_scanning_alert",
                             (("rule_id", "js/sql-injection"),))
    assert code == [
        ("test-boundary", "Add a regression test for the boundary the failure crossed (rule "
                          "js/sql-injection): tenant isolation, auth or validation"),
        ("security-rule", "Make the pattern fail CI on every pull request: a CodeQL query or "
                          "lint rule (rule js/sql-injection)")]
    dependency = keys_and_controls("dependabot_alert", "dependabot_alert",
                                   (("package", "lodash"),))
    assert dependency[1][1] == ("Add a dependency policy (dependency review or update rules) "
                                "that blocks vulnerable versions of lodash before merge")
    assert [k for k, _ in keys_and_controls("workflow_run", "codeql")] == [
        "test-boundary", "security-rule"]


def test_alerting_is_tightened_only_when_detection_lagged() -> None:
    assert [k for k, _ in keys_and_controls("workflow_run", "secret_scan",
                                            lag=timedelta(minutes=59))] == [
        "test-boundary", "security-rule"]
    lagged = keys_and_controls("workflow_run", "secret_scan", lag=timedelta(hours=26))
    assert lagged[-1] == ("tighten-alerting", "Tighten alerting: detection came 1d 2h after the "
                          "offending commit; run the check on every push and pull request, or "
                          "on a shorter schedule")


TABLE = """Intro text.

| Owner | Due | Action |
| :-- | --- | --- |
| `@carol` | 2026-12-15 | Test the \\| boundary <!-- wk-pa:test-boundary --> |
| octo-org/sre | 2026-02-30 | Page on lag |
| not a login! | 2026-12-01 | Rotate |
|  |  | Nobody took this |
| dave | 2026-12-20 |  |

After."""


def test_rows_are_read_from_whatever_table_has_owner_and_due_columns() -> None:
    rows = preventive.parse_rows(TABLE)
    assert [(r.key, r.action, r.owner, r.due) for r in rows] == [
        ("test-boundary", "Test the | boundary", "`@carol`", "2026-12-15"),
        (None, "Page on lag", "octo-org/sre", "2026-02-30"),
        (None, "Rotate", "not a login!", "2026-12-01"),
        (None, "Nobody took this", "", ""),
        (None, "", "dave", "2026-12-20"),
    ]
    found, skipped = preventive.actions(rows)
    assert found == [preventive.Action("test-boundary", "Test the | boundary", "carol",
                                       date(2026, 12, 15))]
    assert [(r.action, why) for r, why in skipped] == [
        ("Page on lag", "the due date is not a date (YYYY-MM-DD)"),
        ("Rotate", "the owner is not a GitHub login or team")]
    assert preventive.parse_rows("| a | b |\n| --- | --- |\n| 1 | 2 |") == []


def test_rows_people_added_get_a_key_from_their_text() -> None:
    rows = preventive.parse_rows("| Preventive action | Owner | Due Date |\n| --- | --- | --- |\n"
                                 "| Rotate tokens! | dave | 2026-12-20 |\n"
                                 "| Rotate tokens! | erin | 2026-12-21 |")
    found, _ = preventive.actions(rows)
    assert [(a.key, a.owner) for a in found] == [("rotate-tokens", "dave"),
                                                 ("rotate-tokens-x", "erin")]


# --- the config section -------------------------------------------------------------------


def test_closure_settings_load_with_defaults_and_overrides() -> None:
    assert load_config(None, None).closure == ClosureConfig()
    config = load_config(None, "closure:\n  monitoring_hours: 48\n  on_unmet: reopen\n"
                               "  postmortem_dir: /security/postmortems/\n"
                               "  communication_items: null\n")
    assert config.closure == ClosureConfig(monitoring_hours=48, on_unmet="reopen",
                                           postmortem_dir="security/postmortems",
                                           communication_items=())
    assert config.problems == ()


@pytest.mark.parametrize(("text", "problem"), [
    ("closure: {on_unmet: close}", "closure.on_unmet: invalid value 'close'"),
    ("closure: {monitoring_hours: -1}", "closure.monitoring_hours: expected a whole number"),
    ("closure: {postmortem_dir: ../outside}", "closure.postmortem_dir: invalid value"),
    ("closure: {decision_log: .github/workflows/x.yml}", "closure.decision_log: invalid value"),
    ("closure: {verification_items: [Not A Key]}", "closure.verification_items[0]: invalid"),
    ("closure: {postmortem_on_not_planned: 'yes'}", "expected true or false"),
    ("closure: {monitoring_hour: 3}", "closure.monitoring_hour: unknown key"),
])
def test_bad_closure_settings_are_reported_and_defaults_kept(text: str, problem: str) -> None:
    problems = validate_text(text, "x.yml")
    assert problems and problem in str(problems[0])
    assert load_config(None, text).closure == ClosureConfig()
    assert schema_errors(text) != []


def test_the_schema_accepts_good_closure_settings() -> None:
    text = ("closure: {monitoring_hours: 0, on_unmet: label, postmortem_dir: a/b, "
            "decision_log: docs/d.md, verification_items: [x_1], communication_items: []}")
    assert schema_errors(text) == []
    assert validate_text(text, "x.yml") == []
