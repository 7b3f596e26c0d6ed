"""runbook/schema.json stays in step with the loader and the built-in defaults."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from watchkeeper.runbook.config import validate_text

FIXTURES = Path(__file__).parent / "fixtures" / "config"


def schema() -> dict[str, Any]:
    text = resources.files("watchkeeper.runbook").joinpath("schema.json").read_text("utf-8")
    return json.loads(text)  # type: ignore[no-any-return]


def as_json(text: str) -> object:
    """What a JSON tool sees of a YAML file (dates become "YYYY-MM-DD" strings)."""
    return json.loads(json.dumps(yaml.safe_load(text), default=str))


def schema_errors(text: str) -> list[str]:
    validator = jsonschema.Draft202012Validator(schema())
    return [e.message for e in validator.iter_errors(as_json(text))]


def test_schema_is_a_valid_draft_2020_12_schema() -> None:
    jsonschema.Draft202012Validator.check_schema(schema())


def test_defaults_satisfy_the_schema() -> None:
    defaults = resources.files("watchkeeper.runbook").joinpath("defaults.yml").read_text("utf-8")
    assert schema_errors(defaults) == []


@pytest.mark.parametrize("name", ["basic", "empty"])
def test_valid_fixtures_satisfy_the_schema(name: str) -> None:
    text = (FIXTURES / f"{name}.yml").read_text(encoding="utf-8")
    assert schema_errors(text) == []
    assert validate_text(text, "x.yml") == []


def test_invalid_fixture_breaks_the_schema() -> None:
    text = (FIXTURES / "invalid.yml").read_text(encoding="utf-8")
    assert len(schema_errors(text)) >= 6


@pytest.mark.parametrize(
    "text",
    [
        "severities: {high: {fix: 5 business days}}",
        "severities: {high: {fix: 5bd, contain: 90m, acknowledge: 2 hours}}",
        "severities: {low: {fix: next release}}",
        "severities: {low: {fix: 0bd}}",
        "severities: {low: {fix: 5 days}}",
        "severities: {low: {fix: 5H}}",
        "severities: {urgent: {fix: 5h}}",
        "rules: {codeql: {enabled: false}}",
        "rules: {codeql: {enabled: 'no'}}",
        "rules: {codeql: {conclusions: [failure, startup_failure]}}",
        "rules: {codeql: {conclusions: [success]}}",
        "rules: {codeql: {branches: main}}",
        "rules: {codeql: {severity: hgih}}",
        "rules: {codeql: {match: gitleaks}}",
        "rules: {codeql: {sevrity: high}}",
        "rules: {mine: {source: check_run, match: [lint], severity: low}}",
        "rules: {mine: {source: pull_request, severity: low}}",
        "rules: {'bad name': {source: check_run, severity: low}}",
        "rules: {code_scanning_alert: {severity_map: {warning: low, error: null}}}",
        "rules: {code_scanning_alert: {severity_map: {bogus: low}}}",
        "roles: {incident_commander: {default: octocat, backup: '@octo-org/leads'}}",
        "roles: {incident_commander: {default: 'not a login'}}",
        "roles: {incident_commander: {default: -octocat}}",
        "roles: {chief: {default: octocat}}",
        "checklist: [{key: a, title: A, items: [{key: b, text: B, milestone: fixed}]}]",
        "checklist: [{key: a, title: A, items: [{key: b, text: B, milestone: done}]}]",
        "checklist: [{key: a, title: A, items: []}]",
        "checklist: [{key: A!, title: A, items: [{key: b, text: B}]}]",
        "checklist: [{key: a, title: A, items: [{key: b, text: B, items: [{key: c, text: C}]}]}]",
        "checklist: [{key: a, title: A, items: [{key: b, text: B, items: [{key: c, text: C,"
        " items: [{key: d, text: D}]}]}]}]",
        "checklist: []",
        "calendar: {workdays: [sun, mon, 2], holidays: [2025-12-25], holiday_country: DE-BY}",
        "calendar: {workdays: []}",
        "calendar: {workdays: [funday]}",
        "calendar: {workdays: [7]}",
        "calendar: {holidays: [christmas]}",
        "calendar: {timezone: 5}",
        "incidents: {repository: acme/incidents, occurrence_comment_minutes: 0}",
        "incidents: {repository: acme}",
        "incidents: {reopen_window_days: -1}",
        "incidents: {occurrence_comment_minutes: 1.5}",
        "notify: [security, '@octo-org/sec']",
        "notify: security",
        "notify: ['two words']",
        "unknown: 1",
        "",
    ],
)
def test_schema_and_loader_agree(text: str) -> None:
    loader_ok = validate_text(text + "\n", "x.yml") == []
    schema_ok = schema_errors(text) == []
    assert loader_ok == schema_ok, (validate_text(text, "x.yml"), schema_errors(text))


@pytest.mark.parametrize(
    "text",
    [
        # Checks only the loader can make: they need a timezone database, a holiday
        # table, or a view across keys.
        "calendar: {timezone: Mars/Base}",
        "calendar: {holiday_country: XX}",
        "rules: {dependabot_alert: {severity: high}}",
        "rules: {codeql: {severity_map: {high: high}}}",
        "checklist: [{key: a, title: A, items: [{key: a, text: B}]}]",
    ],
)
def test_semantic_checks_beyond_the_schema(text: str) -> None:
    assert schema_errors(text) == []
    assert validate_text(text + "\n", "x.yml") != []
