"""The runbook as configuration: defaults, org <- repo merging, and problems, not crashes."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from watchkeeper.runbook.calendar import country_holiday_lookup
from watchkeeper.runbook.config import default_config, load_config, merge, validate_text
from watchkeeper.runbook.model import Duration, RoleConfig, SlaTargets
from watchkeeper.runbook.yamldoc import Problem

FIXTURES = Path(__file__).parent / "fixtures" / "config"
REPO = ".github/watchkeeper.yml"
ORG = "<org>/.github:.github/watchkeeper.yml"


def fixture(name: str) -> str:
    return (FIXTURES / f"{name}.yml").read_text(encoding="utf-8")


def without_problems(text: str | None) -> object:
    """A config with its problems dropped, to compare against the defaults."""
    config = load_config(None, text)
    return (config.sla, config.rules, config.roles, config.checklist, config.calendar,
            config.incidents_repository, config.occurrence_comment_minutes,
            config.reopen_window_days, config.notify)


# --- the built-in runbook ----------------------------------------------------------------


def test_default_sla_is_the_runbook_table() -> None:
    sla = default_config().sla
    assert dict(sla) == {
        "critical": SlaTargets(Duration(15, "minutes"), Duration(4, "hours"),
                               Duration(24, "hours")),
        "high": SlaTargets(Duration(1, "hours"), Duration(24, "hours"),
                           Duration(3, "business_days")),
        "medium": SlaTargets(Duration(1, "business_days"), Duration(3, "business_days"),
                             Duration(10, "business_days")),
        "low": SlaTargets(Duration(2, "business_days"), Duration(10, "business_days"),
                          Duration(0, "next_release")),
    }


def test_default_rules_follow_the_trigger_table() -> None:
    rules = {rule.name: rule for rule in default_config().rules}
    assert list(rules) == ["secret_scan", "codeql", "code_scanning_check",
                           "secret_scanning_alert", "code_scanning_alert", "dependabot_alert"]
    secret = rules["secret_scan"]
    assert (secret.source, secret.branches, secret.severity, secret.conclusions) == (
        "workflow_run", "any", "critical", ("failure", "timed_out"))
    assert secret.match == ("secret scan", "secret-scan", "secret_scan", "gitleaks",
                            "trufflehog")
    codeql = rules["codeql"]
    assert (codeql.source, codeql.branches, codeql.severity) == ("workflow_run", "default",
                                                                 "high")
    assert "dynamic/github-code-scanning/codeql" in codeql.match
    check = rules["code_scanning_check"]
    assert (check.source, check.branches, check.severity, check.conclusions) == (
        "check_run", "default", "high", ("failure",))
    assert check.match == ("codeql", "github-advanced-security", "github-code-scanning")
    assert rules["secret_scanning_alert"].severity == "critical"
    assert rules["code_scanning_alert"].severity_map == (
        ("critical", "critical"), ("high", "high"), ("error", "high"))
    assert rules["dependabot_alert"].severity_map == (("critical", "high"),)
    assert all(rule.enabled for rule in rules.values())


def test_default_roles_have_the_runbook_backups_and_nobody_assigned() -> None:
    assert dict(default_config().roles) == {
        "incident_commander": RoleConfig(None, None, "Engineering lead"),
        "mitigation_owner": RoleConfig(None, None, "Senior engineer"),
        "communications_owner": RoleConfig(None, None, "PM"),
        "security_owner": RoleConfig(None, None, "Security reviewer"),
    }


def test_default_checklist_is_the_runbook_timeline() -> None:
    phases = default_config().checklist
    assert [(p.key, p.title) for p in phases] == [
        ("first_15_minutes", "0-15 minutes"),
        ("first_hour", "15-60 minutes"),
        ("containment", "Containment (1-4 hours critical / 1-24 hours high)"),
        ("post_containment", "Post-containment"),
    ]
    items = [(i.key, i.text, i.milestone, i.parent) for p in phases for i in p.items]
    assert items == [
        ("assign_ic", "Open incident channel and assign IC.", "acknowledged", None),
        ("record_start", "Record start time, suspected scope, and current impact.", None, None),
        ("set_severity", "Set initial severity (`critical`, `high`, `medium`, `low`).", None,
         None),
        ("freeze_deployments", "Freeze risky deployments if incident is active in production.",
         None, None),
        ("assign_owners", "Assign mitigation owner and security owner.", None, None),
        ("blast_radius", "Confirm blast radius:", None, None),
        ("blast_radius_tenants", "affected tenants/users", None, "blast_radius"),
        ("blast_radius_endpoints", "affected endpoints/services", None, "blast_radius"),
        ("blast_radius_data", "possible data exposure", None, "blast_radius"),
        ("containment_path", "Choose containment path:", None, None),
        ("revoke_credentials", "revoke key/token", None, "containment_path"),
        ("disable_feature", "disable feature/route", None, "containment_path"),
        ("roll_back", "roll back deployment", None, "containment_path"),
        ("block_sources", "block malicious source patterns", None, "containment_path"),
        ("complete_containment", "Complete containment steps.", "contained", None),
        ("validate_containment",
         "Validate containment with logs, smoke tests, and targeted checks.", "contained", None),
        ("stakeholder_update", "Send first stakeholder update (impact, mitigation status, ETA).",
         None, None),
        ("start_fix_branch", "Start permanent fix branch and test plan.", None, None),
        ("deploy_fix", "Deploy permanent fix.", "fixed", None),
        ("verify_no_regression", "Verify no regression via quality + security checks.", "fixed",
         None),
        ("document_timeline", "Document exact timeline and decisions.", None, None),
        ("close_after_monitoring",
         "Close incident only after monitoring window confirms stability.", None, None),
    ]


def test_default_calendar_incidents_and_notify() -> None:
    config = default_config()
    assert (config.calendar.timezone, config.calendar.workdays, config.calendar.holidays,
            config.calendar.holiday_country) == ("UTC", (0, 1, 2, 3, 4), (), None)
    assert config.incidents_repository is None
    assert config.occurrence_comment_minutes == 60
    assert config.reopen_window_days == 30
    assert config.notify == ()
    assert config.problems == ()
    assert default_config() is config  # cached


def test_no_files_and_empty_files_give_the_defaults() -> None:
    assert load_config(None, None) is default_config()
    assert without_problems(fixture("empty")) == without_problems(None)
    assert load_config(fixture("empty"), "").problems == ()


# --- merging -------------------------------------------------------------------------------


def test_merge_merges_mappings_and_replaces_lists() -> None:
    base = {"a": {"x": 1, "y": [1, 2]}, "b": 1}
    assert merge(base, {"a": {"y": [3]}, "c": None}) == {"a": {"x": 1, "y": [3]}, "b": 1,
                                                          "c": None}
    assert base == {"a": {"x": 1, "y": [1, 2]}, "b": 1}  # not modified


def test_basic_repository_config() -> None:
    config = load_config(None, fixture("basic"))
    assert config.problems == ()
    assert config.sla["high"] == SlaTargets(Duration(1, "hours"), Duration(24, "hours"),
                                            Duration(5, "business_days"))
    assert config.sla["critical"] == default_config().sla["critical"]
    rules = {rule.name: rule for rule in config.rules}
    assert list(rules)[-1] == "semgrep"  # added rules come after the built-in ones
    assert rules["codeql"].enabled is False
    assert rules["codeql"].match == default_config().rules[1].match
    assert rules["semgrep"].severity == "medium"
    # error: null removes a default level, medium: medium adds one
    assert rules["code_scanning_alert"].severity_map == (
        ("critical", "critical"), ("high", "high"), ("medium", "medium"))
    assert config.roles["incident_commander"] == RoleConfig(
        "octocat", "@octo-org/eng-leads", "Engineering lead")
    assert config.roles["security_owner"] == RoleConfig("hubot", None, "Security reviewer")
    assert config.calendar.timezone == "Europe/Berlin"
    assert config.calendar.holidays == (date(2025, 12, 24), date(2025, 12, 31))
    assert config.incidents_repository == "octo-org/security-incidents"
    assert config.occurrence_comment_minutes == 30
    assert config.reopen_window_days == 30
    assert config.notify == ("security-channel",)


def test_repository_settings_merge_over_the_organisation() -> None:
    org = """
roles:
  incident_commander: {default: alice, backup: bob}
incidents: {repository: acme/incidents}
notify: [one, two]
"""
    repo = """
roles:
  incident_commander: {backup: carol}
notify: [three]
"""
    config = load_config(org, repo)
    assert config.problems == ()
    assert config.roles["incident_commander"] == RoleConfig("alice", "carol", "Engineering lead")
    assert config.incidents_repository == "acme/incidents"
    assert config.notify == ("three",)


def test_checklist_is_replaced_whole() -> None:
    repo = """
checklist:
  - key: triage
    title: Triage
    items:
      - {key: look, text: Look at it., milestone: acknowledged}
      - key: decide
        text: "Decide:"
        items: [{key: fix_it, text: fix it}]
"""
    config = load_config(None, repo)
    assert config.problems == ()
    assert len(config.checklist) == 1
    assert [(i.key, i.parent) for i in config.checklist[0].items] == [
        ("look", None), ("decide", None), ("fix_it", "decide")]


# --- problems instead of crashes -----------------------------------------------------------


def test_malformed_yaml_is_a_problem_with_its_line_and_defaults_apply() -> None:
    config = load_config(None, fixture("malformed"))
    assert config.problems == (
        ".github/watchkeeper.yml:4: invalid YAML: while parsing a flow sequence expected ',' "
        "or ']', but got ':' (hint: check the indentation, quotes and brackets around this "
        "line)",
    )
    assert without_problems(fixture("malformed")) == without_problems(None)


def test_evil_yaml_builds_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    text = fixture("evil")
    config = load_config(None, text)
    problems = validate_text(text, REPO)
    assert not (tmp_path / "watchkeeper-evil-marker").exists()
    assert [(p.line, p.message) for p in problems] == [
        (5, "tag 'tag:yaml.org,2002:python/object/apply:builtins.exec' is not allowed"),
        (8, "tag 'tag:yaml.org,2002:python/object/new:pathlib.PosixPath' is not allowed"),
        (9, "tag 'tag:yaml.org,2002:python/name:os.system' is not allowed"),
    ]
    assert config.roles == default_config().roles
    assert len(config.problems) == 3
    # The fixture is live: an unsafe loader does run it, which is what the test guards.
    yaml.unsafe_load(text)
    assert (tmp_path / "watchkeeper-evil-marker").exists()


def test_each_broken_section_falls_back_and_says_where() -> None:
    config = load_config(None, fixture("invalid"))
    assert config.problems == (
        f"{REPO}:2: severitys: unknown key 'severitys' (hint: did you mean 'severities'?)",
        f"{REPO}:6: severities.critical.acknowledge: invalid value '15 mins later' (hint: write "
        '"15m", "4h", "3bd" (business days) or "next release"; severities: using the defaults)',
        f"{REPO}:9: rules.codeql.severity: invalid value 'hgih' (hint: did you mean 'high'?; "
        "rules: using the defaults)",
        f"{REPO}:12: roles.incident_commander.default: invalid value 'not a login!' (hint: use a "
        'GitHub login such as "octocat" or a team such as "@my-org/security"; roles: using the '
        "defaults)",
        f"{REPO}:14: calendar.workdays[1]: invalid value 'funday' (hint: use day names mon..sun "
        "or numbers 0..6 (Monday=0); calendar: using the defaults)",
        f"{REPO}:16: incidents.reopen_window_days: expected a whole number 0..3650, got -1 "
        "(hint: incidents: using the defaults)",
        f"{REPO}:17: notify: expected a list of non-empty strings, got [''] (hint: write a YAML "
        'list, for example ["a", "b"]; notify: using the defaults)',
        f"{REPO}:23: checklist[0].items[1].key: duplicate key 'a' (hint: keys must be unique in "
        "the checklist; checklist: using the defaults)",
    )
    assert without_problems(fixture("invalid")) == without_problems(None)


def test_a_broken_section_keeps_the_good_ones() -> None:
    repo = """
rules:
  secret_scan: {enabled: nope}
roles:
  incident_commander: {default: octocat}
"""
    config = load_config(None, repo)
    assert config.problems == (
        f"{REPO}:3: rules.secret_scan.enabled: expected true or false, got 'nope' "
        "(hint: rules: using the defaults)",
    )
    assert config.rules == default_config().rules
    assert config.roles["incident_commander"].default == "octocat"


def test_a_broken_repository_section_falls_back_to_the_organisation() -> None:
    org = "incidents: {repository: acme/private-incidents}\n"
    repo = "incidents:\n  repository: not a repo\n"
    config = load_config(org, repo)
    assert config.incidents_repository == "acme/private-incidents"
    assert config.problems == (
        f"{REPO}:2: incidents.repository: invalid value 'not a repo' (hint: use \"owner/name\", "
        "for example \"my-org/security-incidents\"; incidents: using the organisation's "
        "settings)",
    )


def test_problems_name_the_organisation_file_too() -> None:
    config = load_config("rulez: {}\n", None)
    assert config.problems == (
        f"{ORG}:1: rulez: unknown key 'rulez' (hint: did you mean 'rules'?)",
    )


@pytest.mark.parametrize(
    ("text", "line", "message", "hint"),
    [
        ("- a\n- b\n", 1, "the file must be a mapping of settings",
         "start with a key such as `rules:` or `severities:`"),
        ("roles:\n  incident_comander: {default: x}\n", 2,
         "roles.incident_comander: unknown key 'incident_comander'",
         "did you mean 'incident_commander'?"),
        ("rules:\n  codeql:\n    sevrity: high\n", 3, "rules.codeql.sevrity: unknown key "
         "'sevrity'", "did you mean 'severity'?"),
        ("rules:\n  mine: {source: workflow_run, match: [x]}\n", 2,
         "rules.mine: the rule sets neither severity nor severity_map",
         "add `severity: high` (or a severity_map for alerts)"),
        ("rules:\n  codeql: {severity_map: {high: high}}\n", 2,
         "rules.codeql.severity_map: severity_map does not apply to workflow_run",
         "use `severity` for this source"),
        ("rules:\n  dependabot_alert: {severity: high}\n", 2,
         "rules.dependabot_alert: the rule sets both severity and severity_map",
         "set the one you don't want to null"),
        ("rules:\n  codeql: {conclusions: [failure, success]}\n", 2,
         "rules.codeql.conclusions[1]: invalid value 'success'",
         "expected one of: action_required, cancelled, failure, stale, startup_failure, "
         "timed_out"),
        ("calendar:\n  timezone: Mars/Base\n", 2, "calendar.timezone: unknown timezone "
         "'Mars/Base' (use an IANA name such as 'UTC' or 'Europe/Berlin')", ""),
        ("calendar:\n  holiday_country: XX\n", 2, "calendar.holiday_country: unknown holiday "
         "country 'XX' (use an ISO 3166 code such as 'DE' or 'US-CA')", ""),
        ("calendar:\n  holidays: [2025-13-01]\n", 2, "calendar.holidays[0]: invalid value "
         "'2025-13-01'", "use YYYY-MM-DD, for example 2025-12-25"),
        ("severities:\n  low: {fix: 0bd}\n", 2, "severities.low.fix: invalid value '0bd'",
         'write "15m", "4h", "3bd" (business days) or "next release"'),
        ("a: 1\na: 2\n", 2, "duplicate key a", "only the last one counts; remove the other"),
        ("true: 1\n", 1, "True: key True is not a string", ""),
    ],
)
def test_validate_text_locates_problems(text: str, line: int, message: str, hint: str) -> None:
    problems = validate_text(text, REPO)
    found = [p for p in problems if p.message == message]
    assert found, f"expected {message!r} among {problems}"
    assert found[0].line == line
    if hint:
        assert found[0].hint.split("; ")[0] == hint.split("; ")[0]


def test_validate_text_gives_columns_and_clean_files_have_none() -> None:
    assert validate_text(fixture("basic"), REPO) == []
    assert validate_text("", REPO) == []
    [problem] = validate_text("roles:\n  security_owner:\n    default: 'x y'\n", REPO)
    assert problem == Problem(
        REPO, 3, 14, "roles.security_owner.default: invalid value 'x y'",
        'use a GitHub login such as "octocat" or a team such as "@my-org/security"; roles: '
        "using the defaults",
    )


@pytest.mark.parametrize(
    ("value", "stored"),
    [("octocat", "octocat"), ("@octocat", "octocat"), ("@octo-org/sec-team", "@octo-org/sec-team"),
     ("octo-org/sec_team", "@octo-org/sec_team")],
)
def test_role_principals_are_normalised(value: str, stored: str) -> None:
    config = load_config(None, f"roles:\n  mitigation_owner: {{default: '{value}'}}\n")
    assert config.problems == ()
    assert config.roles["mitigation_owner"].default == stored


@pytest.mark.parametrize("value", ["-octocat", "octo--cat", "a" * 40, "octo cat", "@org/", "x@y"])
def test_bad_logins_are_problems(value: str) -> None:
    config = load_config(None, f"roles:\n  mitigation_owner: {{default: '{value}'}}\n")
    assert len(config.problems) == 1
    assert config.roles == default_config().roles


def test_alias_bombs_and_deep_nesting_are_refused() -> None:
    lines = ['a0: &a0 ["x", "x", "x", "x", "x", "x", "x", "x", "x", "x"]']
    lines += [f"a{i}: &a{i} [*a{i-1}, *a{i-1}, *a{i-1}, *a{i-1}, *a{i-1}, *a{i-1}, *a{i-1}, "
              f"*a{i-1}, *a{i-1}, *a{i-1}]" for i in range(1, 9)]
    bomb = validate_text("\n".join(lines) + "\n", REPO)
    assert len(bomb) == 1
    assert bomb[0].message.startswith("YAML is too complex: more than 20000 values")
    deep = validate_text("notify: " + "[" * 50 + "]" * 50 + "\n", REPO)
    assert [p.message for p in deep] == ["YAML is too complex: nested deeper than 32 levels"]
    recursive = validate_text("notify: &x [*x]\n", REPO)
    assert [(p.line, p.message) for p in recursive] == [
        (1, "YAML is too complex: an alias refers to the node that contains it")]
    huge = validate_text("#" * 300_000, REPO)
    assert [p.message for p in huge] == ["file is larger than 262144 characters"]


def test_nesting_beyond_the_parser_recursion_limit_is_a_problem() -> None:
    problems = validate_text("[" * 5000 + "]" * 5000, REPO)
    assert [p.message for p in problems] == ["YAML is too complex: nested too deeply"]


def test_missing_holidays_package_is_a_problem(monkeypatch: pytest.MonkeyPatch) -> None:
    country_holiday_lookup.cache_clear()
    monkeypatch.setitem(sys.modules, "holidays", None)  # makes `import holidays` fail
    config = load_config(None, "# without the package\ncalendar: {holiday_country: FR}\n")
    assert config.problems == (
        f"{REPO}:2: calendar.holiday_country: public holidays need the 'holidays' package "
        "(install watchkeeper[holidays]) or remove the setting (hint: calendar: using the "
        "defaults)",
    )
    assert config.calendar == default_config().calendar


def test_problem_strings_are_one_line() -> None:
    config = load_config(None, "notify: [a]\n\x1f\n")
    assert config.problems == (
        f"{REPO}: invalid YAML: special characters are not allowed "
        "(hint: remove control characters from the file)",
    )


_yaml_values = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 100) | st.text(max_size=12)
    | st.sampled_from(["15m", "3bd", "next release", "mon", "UTC", "octocat", "critical",
                       "workflow_run", "failure", "default"]),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.sampled_from(["severities", "rules", "roles", "checklist", "calendar",
                                       "incidents", "notify", "critical", "fix", "codeql",
                                       "source", "match", "severity", "severity_map", "key",
                                       "text", "items", "timezone", "workdays", "holidays",
                                       "repository", "incident_commander", "default"]),
                      children, max_size=5),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(["severities", "rules", "roles", "checklist", "calendar",
                                        "incidents", "notify", "other"]),
                       _yaml_values, max_size=4))
def test_arbitrary_structures_never_raise(data: dict[str, object]) -> None:
    text = yaml.safe_dump(data)
    config = load_config(text, text)
    assert isinstance(config.problems, tuple)
    assert set(config.sla) == {"critical", "high", "medium", "low"}
    assert config.rules and config.checklist


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_arbitrary_text_never_raises(text: str) -> None:
    config = load_config(None, text)
    assert isinstance(config.problems, tuple)
