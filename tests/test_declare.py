"""Declared incidents and reopening, as pure decisions with explicit times."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from watchkeeper.actions import (
    AddLabels,
    Comment,
    EnsureLabels,
    RemoveLabels,
    UpdateIssueSections,
)
from watchkeeper.declare.adopt import adopt, declared_fingerprint
from watchkeeper.declare.reopen import phase_after_reopen, reopen
from watchkeeper.declare.report import (
    FORM_FIELDS,
    Report,
    declares_incident,
    form_fields,
    form_severity,
    is_form,
    label_severity,
)
from watchkeeper.notify import Notify
from watchkeeper.record import Incident, TimelineEntry
from watchkeeper.render.markers import extract, read_incident_id
from watchkeeper.runbook.config import default_config

CONFIG = default_config()
CREATED = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday
NOW = CREATED + timedelta(seconds=40)
FORM = (
    "### What happened\r\n\r\nExport at 09:10 UTC held rows of another tenant.\r\n\r\n"
    "### Suspected scope\r\n\r\nTenants on shard 3\r\n\r\n"
    "### Impact\r\n\r\nPossible data exposure\r\n\r\n"
    "### Severity\r\n\r\nhigh\r\n\r\n"
    "### Reporter contact\r\n\r\n_No response_"
)
TEMPLATE = Path(__file__).resolve().parents[1] / ".github" / "ISSUE_TEMPLATE" / "incident.yml"


def report(**changes: object) -> Report:
    base = Report(
        repo="octo-org/payments", number=42, title="Tenant data in the wrong export",
        body="We saw rows from another tenant.", reporter="carol", sender="carol",
        created_at=CREATED, labels=("incident",), state="open",
        url="https://github.com/octo-org/payments/issues/42", installation_id=7,
        event_at=CREATED,
    )
    return replace(base, **changes)


# --- reading reports and the form ------------------------------------------------------

def test_form_fields_read_each_heading_and_treat_no_response_as_empty() -> None:
    assert form_fields(FORM) == {
        "What happened": "Export at 09:10 UTC held rows of another tenant.",
        "Suspected scope": "Tenants on shard 3",
        "Impact": "Possible data exposure",
        "Severity": "high",
        "Reporter contact": "",
    }
    assert is_form(FORM) and not is_form("### What happened\n\nonly this")
    assert form_severity(FORM) == "high"
    assert form_severity(FORM.replace("high", "_No response_")) is None
    assert form_severity(FORM.replace("high", "urgent!!")) is None


def test_the_shipped_form_has_the_fields_watchkeeper_reads_and_applies_the_label() -> None:
    form = yaml.safe_load(TEMPLATE.read_text(encoding="utf-8"))
    assert form["labels"] == ["incident"]
    fields = [item["attributes"]["label"] for item in form["body"] if item["type"] != "markdown"]
    assert tuple(fields) == FORM_FIELDS
    (severity,) = [item for item in form["body"] if item.get("id") == "severity"]
    assert severity["type"] == "dropdown"
    assert severity["attributes"]["options"] == ["critical", "high", "medium", "low"]


def test_the_most_severe_severity_label_wins() -> None:
    assert label_severity(("bug", "severity:low", "Severity:High")) == "high"
    assert label_severity(("severity:urgent", "incident")) is None


@pytest.mark.parametrize(("event", "changes", "added", "expected"), [
    ("opened", {}, None, True),
    ("opened", {"labels": ("bug",)}, None, False),
    ("opened", {"labels": (), "body": FORM}, None, True),  # form, label not applied
    ("opened", {"state": "closed"}, None, False),
    ("labeled", {}, "incident", True),
    ("labeled", {}, "Incident", True),
    ("labeled", {}, "bug", False),
    ("labeled", {"labels": ("bug",)}, "incident", False),  # removed again since
    ("edited", {}, None, False),
])
def test_which_events_declare_an_incident(event: str, changes: dict[str, object],
                                          added: str | None, expected: bool) -> None:
    assert declares_incident(report(**changes), event, added) is expected


# --- adoption --------------------------------------------------------------------------

def test_adoption_makes_a_declared_record_from_the_issue() -> None:
    decision = adopt(report(), CONFIG, NOW, "INC-2026-0003", via="opened")
    incident = decision.incident
    assert incident is not None
    assert (incident.id, incident.source, incident.rule, incident.severity, incident.status) == (
        "INC-2026-0003", "declared", "declared", "medium", "open")
    assert (incident.repo, incident.tracker_repo, incident.issue_number) == (
        "octo-org/payments", "octo-org/payments", 42)
    assert incident.detected_at == CREATED and incident.recorded_at == NOW
    assert incident.fingerprint == declared_fingerprint("octo-org/payments", 42) == \
        "octo-org/payments|declared|issue#42|*"
    assert incident.timeline == (
        TimelineEntry(CREATED, "carol", "declared",
                      "Declared an incident: Tenant data in the wrong export",
                      url="https://github.com/octo-org/payments/issues/42",
                      key="declared:octo-org/payments#42"),
        TimelineEntry(NOW, "watchkeeper", "severity",
                      "Initial severity medium (none given; the reporter is asked to confirm)"),
    )


def test_adoption_actions_keep_the_report_and_ask_to_confirm_a_default_severity() -> None:
    actions = adopt(report(), CONFIG, NOW, "INC-2026-0003", via="opened").actions
    assert [type(a) for a in actions] == [EnsureLabels, UpdateIssueSections, AddLabels, Comment]
    ensure, update, add, comment = actions
    assert [label.name for label in ensure.labels] == [  # type: ignore[union-attr]
        "incident", "severity:medium", "source:declared", "status:open"]
    assert isinstance(update, UpdateIssueSections)
    assert update.title == "[INC-2026-0003] medium: Tenant data in the wrong export"
    names = [name for name, _ in update.sections]
    assert names == ["declared", "summary", "sla", "roles", "checklist", "evidence",
                     "timeline", "dod", "meta"]
    intro = dict(update.sections)["declared"]
    assert read_incident_id(intro) == "INC-2026-0003"
    assert "reported by carol at 2026-03-02 09:00 UTC" in intro
    # Medium: acknowledge within one business day of the report.
    assert "2026-03-03 09:00 UTC" in dict(update.sections)["sla"]
    assert add == AddLabels("INC-2026-0003", "octo-org/payments",
                            ("severity:medium", "source:declared", "status:open"))
    assert isinstance(comment, Comment) and comment.key == "declared-severity:INC-2026-0003"
    assert comment.body.startswith("@carol thank you for the report.")


def test_a_severity_label_or_the_form_sets_the_severity_without_asking() -> None:
    by_label = adopt(report(labels=("incident", "severity:critical", "severity:low")),
                     CONFIG, NOW, "INC-2026-0003", via="opened")
    assert by_label.incident is not None and by_label.incident.severity == "critical"
    assert not any(isinstance(a, Comment) for a in by_label.actions)
    assert RemoveLabels("INC-2026-0003", "octo-org/payments", ("severity:low",)) \
        in by_label.actions
    by_form = adopt(report(labels=(), body=FORM), CONFIG, NOW, "INC-2026-0004", via="opened")
    assert by_form.incident is not None and by_form.incident.severity == "high"
    assert dict(by_form.incident.facts)["severity_source"] == "form"
    assert AddLabels("INC-2026-0004", "octo-org/payments",
                     ("incident", "severity:high", "source:declared", "status:open")) \
        in by_form.actions


def test_adoption_by_label_records_who_declared_it_and_when() -> None:
    labelled = CREATED + timedelta(hours=3)
    decision = adopt(report(labels=("incident", "severity:high"), sender="dave",
                            event_at=labelled), CONFIG, labelled + timedelta(seconds=5),
                     "INC-2026-0005", via="labeled")
    assert decision.incident is not None
    assert [(e.at, e.actor, e.kind, e.text) for e in decision.incident.timeline] == [
        (CREATED, "carol", "declared", "Reported: Tenant data in the wrong export"),
        (labelled, "dave", "declared", "Declared an incident by adding the incident label"),
        (labelled + timedelta(seconds=5), "watchkeeper", "recorded",
         "Adopted by Watchkeeper, 3h after the report"),
        (labelled + timedelta(seconds=5), "watchkeeper", "severity",
         "Initial severity high, from the severity:high label"),
    ]
    assert decision.incident.detected_at == CREATED  # SLA clocks start at the report


def test_adoption_notifies_the_configured_targets_last() -> None:
    config = replace(CONFIG, notify=("security-slack",))
    actions = adopt(report(sender="carol"), config, NOW, "INC-2026-0003", via="opened").actions
    assert actions[-1] == Notify("INC-2026-0003", "opened",
                                 "Declared by carol: Tenant data in the wrong export",
                                 ("security-slack",), "opened:INC-2026-0003", NOW)


def test_hostile_report_text_is_escaped_in_what_watchkeeper_writes() -> None:
    hostile = report(title="@octo-org/admins see #1 <img src=x>", reporter="carol")
    update = adopt(hostile, CONFIG, NOW, "INC-2026-0003", via="opened").actions[1]
    assert isinstance(update, UpdateIssueSections)
    assert update.title is not None and "@octo-org" not in update.title
    summary = dict(update.sections)["summary"]
    assert "<img" not in summary and "@octo-org/admins" not in summary
    assert extract(hostile.body, "summary") is None


# --- reopening -------------------------------------------------------------------------

def closed(**changes: object) -> Incident:
    decision = adopt(report(), CONFIG, NOW, "INC-2026-0003", via="opened")
    assert decision.incident is not None
    return replace(decision.incident, status="closed", closed_at=CREATED + timedelta(days=2),
                   **changes)


def test_reopening_returns_to_the_latest_phase_reached() -> None:
    milestones = (("acknowledged", CREATED + timedelta(minutes=5)),
                  ("contained", CREATED + timedelta(hours=2)))
    at = CREATED + timedelta(days=3)
    decision = reopen(closed(milestones=milestones), "erin", at, CONFIG, at)
    incident = decision.incident
    assert incident is not None
    assert (incident.status, incident.closed_at) == ("contained", None)
    assert incident.timeline[-1] == TimelineEntry(
        at, "erin", "reopened", "Reopened by erin; the incident is contained again",
        key=f"reopened:{at.isoformat()}")
    update, ensure, remove, add = decision.actions
    assert isinstance(update, UpdateIssueSections)
    assert [name for name, _ in update.sections] == ["summary", "sla", "timeline", "meta"]
    assert [label.name for label in ensure.labels] == ["status:contained"]  # type: ignore
    assert remove == RemoveLabels("INC-2026-0003", "octo-org/payments", ("status:closed",))
    assert add == AddLabels("INC-2026-0003", "octo-org/payments", ("status:contained",))


def test_reopening_without_milestones_is_open_and_an_open_record_does_not_change() -> None:
    assert phase_after_reopen(closed()) == "open"
    still_open = replace(closed(), status="acknowledged", closed_at=None)
    assert reopen(still_open, "erin", NOW, CONFIG, NOW).actions == ()
    assert reopen(still_open, "erin", NOW, CONFIG, NOW).incident == still_open
