"""The incident issue rendered from the record: golden files, SLA to the minute, limits.

Golden files live in tests/golden/; regenerate them with UPDATE_GOLDEN=1 and review
the diff.
"""

from __future__ import annotations

import copy
import json
import os
import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from watchkeeper.actions import OpenIssue
from watchkeeper.incident import decide
from watchkeeper.record import Evidence, Incident, Occurrences, TimelineEntry
from watchkeeper.render.checklist import parse_ticks
from watchkeeper.render.escape import ZWJ
from watchkeeper.render.issue import (
    BODY_LIMIT,
    SECTION_ORDER,
    incident_from_meta,
    render_body,
    render_sections,
    render_title,
)
from watchkeeper.render.markers import extract, names, read_incident_id, read_meta, splice
from watchkeeper.runbook.config import default_config
from watchkeeper.runbook.model import CalendarConfig, Duration, RoleConfig
from watchkeeper.runbook.policy import classify
from watchkeeper.signals import workflow_run
from watchkeeper.signals.model import Signal

GOLDEN = Path(__file__).parent / "golden"
FIXTURE = Path(__file__).parent / "fixtures/webhooks/workflow_run/completed.payload.json"
CONFIG = default_config()
DETECTED = datetime(2026, 3, 6, 16, 30, tzinfo=UTC)  # a Friday afternoon
UTC_MIN = timedelta(minutes=1)


def _secret_scan_payload() -> dict[str, Any]:
    payload: dict[str, Any] = json.loads(FIXTURE.read_text())
    payload = copy.deepcopy(payload)
    run = payload["workflow_run"]
    # The octokit example is a successful unnamed "test.yml" run on master without an
    # installation; turned into the failing secret scan on main this test is about.
    run.update(conclusion="failure", name="Secret scan", path=".github/workflows/secret-scan.yml",
               head_branch="main", updated_at="2026-03-06T16:30:00Z")
    payload["installation"] = {"id": 42}
    return payload


def _signal() -> Signal:
    signal = workflow_run.parse(_secret_scan_payload())
    assert signal is not None
    return signal


def _opened(now: datetime = DETECTED + timedelta(minutes=7)) -> tuple[Incident, OpenIssue]:
    signal = _signal()
    match = classify(signal, CONFIG)
    assert match is not None and match.severity == "critical"
    decision = decide(None, signal, match, CONFIG, now, "INC-2026-0007")
    assert decision.incident is not None
    issue = decision.actions[1]
    assert isinstance(issue, OpenIssue)
    return decision.incident, issue


def _check_golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN") == "1":
        path.parent.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"{path.name} missing: run with UPDATE_GOLDEN=1"
    assert text == path.read_text(encoding="utf-8")


def _worked(incident: Incident) -> Incident:
    """The same incident some hours in: roles, ticks, milestones, repeats, evidence."""
    return incident.replace(
        roles=(("incident_commander", "octocat"), ("security_owner", "@octo-org/security")),
        milestones=(("acknowledged", DETECTED + timedelta(minutes=12)),
                    ("contained", DETECTED + timedelta(hours=5, minutes=5))),
        checklist_done=("assign_ic", "record_start", "revoke_credentials", "complete_containment",
                        "validate_containment"),
        occurrences=Occurrences(
            count=3, last_at=DETECTED + timedelta(minutes=40),
            last_url="https://github.com/octo-org/octo-repo/actions/runs/289782499",
            last_commit="9d5f0c7a1e8b4c3d2f1a0b9c8d7e6f5a4b3c2d1e",
            last_event_key="workflow_run:289782499:1:failure"),
        timeline=(*incident.timeline,
                  TimelineEntry(DETECTED + timedelta(minutes=12), "octocat", "milestone",
                                "Acknowledged: Incident Commander assigned"),
                  TimelineEntry(DETECTED + timedelta(hours=5, minutes=5), "hubot", "checklist",
                                "Ticked: Validate containment | with <b>logs</b> @octo-org/all")),
        evidence=(*incident.evidence,
                  Evidence("pr:octo-org/octo-repo#7", "pull_request", "Rotate the leaked token",
                           "https://github.com/octo-org/octo-repo/pull/7",
                           (("sha", "9d5f0c7a1e8b4c3d2f1a0b9c8d7e6f5a4b3c2d1e"),),
                           DETECTED + timedelta(hours=2))),
    )


# --- golden files ----------------------------------------------------------------

def test_golden_new_critical_secret_scan_issue() -> None:
    _, issue = _opened()
    assert issue.title == "[INC-2026-0007] critical: Workflow Secret scan failed on main"
    assert issue.labels == ("incident", "severity:critical", "source:workflow_run", "status:open")
    assert issue.repo == "octo-org/octo-repo"
    assert issue.marker == "<!-- watchkeeper:incident INC-2026-0007 -->"
    assert read_incident_id(issue.body) == "INC-2026-0007"
    assert names(issue.body) == SECTION_ORDER
    _check_golden("critical_secret_scan.md", issue.body)


def test_golden_worked_incident_one_day_later() -> None:
    incident, _ = _opened()
    now = DETECTED + timedelta(days=1, hours=2)
    body = render_body(_worked(incident), CONFIG, now)
    _check_golden("critical_secret_scan_worked.md", body)


# --- SLA table, to the minute ----------------------------------------------------

def _sla_rows(incident: Incident, now: datetime, config: Any = CONFIG) -> list[list[str]]:
    sla = render_sections(incident, config, now)["sla"]
    rows = [line for line in sla.splitlines() if line.startswith("| ")][2:]
    return [[cell.strip() for cell in row.strip("|").split(" | ")] for row in rows]


def test_critical_sla_statuses_met_missed_overdue() -> None:
    incident, _ = _opened()
    rows = _sla_rows(_worked(incident), DETECTED + timedelta(days=1, hours=2))
    assert rows == [
        ["Acknowledge", "15 minutes", "2026-03-06 16:45 UTC", "met (after 12m)"],
        ["Contain", "4 hours", "2026-03-06 20:30 UTC", "missed (by 1h 5m)"],
        ["Permanent fix", "24 hours", "2026-03-07 16:30 UTC", "**overdue** (by 2h)"],
    ]


def test_pending_statuses_show_time_left() -> None:
    incident, _ = _opened()
    rows = _sla_rows(incident, DETECTED + timedelta(minutes=7))
    assert [row[3] for row in rows] == ["pending (8m left)", "pending (3h 53m left)",
                                        "pending (23h 53m left)"]
    # One minute past the acknowledge deadline it is overdue, to the minute.
    rows = _sla_rows(incident, DETECTED + timedelta(minutes=16))
    assert rows[0][3] == "**overdue** (by 1m)"


@pytest.mark.parametrize(("severity", "expected"), [
    ("high", [["Acknowledge", "1 hour", "2026-03-06 17:30 UTC"],
              ["Contain", "24 hours", "2026-03-07 16:30 UTC"],
              ["Permanent fix", "3 business days", "2026-03-11 16:30 UTC"]]),
    ("medium", [["Acknowledge", "1 business day", "2026-03-09 16:30 UTC"],
                ["Contain", "3 business days", "2026-03-11 16:30 UTC"],
                ["Permanent fix", "10 business days", "2026-03-20 16:30 UTC"]]),
    ("low", [["Acknowledge", "2 business days", "2026-03-10 16:30 UTC"],
             ["Contain", "10 business days", "2026-03-20 16:30 UTC"],
             ["Permanent fix", "next release",
              "none (no open milestone with a due date)"]]),
])
def test_business_day_deadlines_skip_the_weekend(severity: str, expected: list[list[str]]) -> None:
    incident, _ = _opened()
    rows = _sla_rows(incident.replace(severity=severity), DETECTED)
    assert [row[:3] for row in rows] == expected
    sla = render_sections(incident.replace(severity=severity), CONFIG, DETECTED)["sla"]
    assert "Business days: Mon–Fri (UTC)." in sla


def test_an_unusable_calendar_falls_back_and_says_so() -> None:
    incident, _ = _opened()
    broken = replace(CONFIG, calendar=CalendarConfig(timezone="Mars/Olympus"))
    sla = render_sections(incident.replace(severity="high"), broken, DETECTED)["sla"]
    assert "The configured calendar is unusable" in sla
    assert "| Permanent fix | 3 business days | 2026-03-11 16:30 UTC |" in sla


# --- sections --------------------------------------------------------------------

def test_roles_show_assignees_defaults_and_backups_without_paging_backups() -> None:
    incident, _ = _opened()
    roles = dict(CONFIG.roles)
    roles["mitigation_owner"] = RoleConfig(default="hubot", backup="@octo-org/seniors",
                                           backup_title="Senior engineer")
    config = replace(CONFIG, roles=roles)
    out = render_sections(_worked(incident), config, DETECTED)["roles"]
    assert out.splitlines()[4:] == [
        "| Incident Commander | @octocat | Engineering lead |",
        "| Mitigation Owner | unassigned (default: @hubot) | "
        f"Senior engineer: @{ZWJ}octo-org/seniors |",
        "| Communications Owner | unassigned | PM |",
        "| Security Owner | @octo-org/security | Security reviewer |",
    ]


def test_hostile_payload_text_is_neutralised_everywhere() -> None:
    incident, _ = _opened()
    evil = incident.replace(
        title="Fail @octo-org/everyone #1 <img src=x onerror=alert(1)> [x](javascript:y)",
        branch="main|`x`", facts=(("workflow_name", "a\nb | c"),),
        config_problems=("bad key @admin in .github/watchkeeper.yml line 3",),
    )
    body = render_body(evil, CONFIG, DETECTED)
    assert "<img" not in body and "@octo-org/everyone" not in body and "@admin" not in body
    assert f"#{ZWJ}1" in body and "\\[x\\](javascript:y)" in body
    assert "| Branch | `` main\\|`x` `` |" in body
    assert "| Workflow | `a b \\| c` |" in body
    assert render_title(evil) == (
        f"[INC-2026-0007] critical: Fail @{ZWJ}octo-org/everyone #{ZWJ}1 "
        "<img src=x onerror=alert(1)> [x](javascript:y)"
    )
    assert ("**Configuration problems** (defaults apply): bad key "
            f"@{ZWJ}admin in .github/watchkeeper.yml line 3") in body


def test_title_is_capped_at_256() -> None:
    incident, _ = _opened()
    title = render_title(incident.replace(title="x" * 1000))
    assert len(title) == 256 and title.endswith("x…")


def test_checklist_section_reflects_ticks() -> None:
    incident, _ = _opened()
    ticks = parse_ticks(render_sections(_worked(incident), CONFIG, DETECTED)["checklist"])
    assert {k for k, v in ticks.items() if v} == set(_worked(incident).checklist_done)


def test_meta_rebuilds_the_record_without_timeline_and_evidence() -> None:
    incident, _ = _opened()
    worked = _worked(incident)
    rebuilt = incident_from_meta(read_meta(render_body(worked, CONFIG, DETECTED)) or {})
    assert rebuilt == worked.replace(timeline=(), evidence=(), config_problems=())
    assert incident_from_meta({"schema": 99}) is None
    assert incident_from_meta({"schema": 1, "id": "x"}) is None


# --- size limit ------------------------------------------------------------------

def test_huge_timeline_and_evidence_are_trimmed_oldest_first() -> None:
    incident, _ = _opened()
    entries = tuple(TimelineEntry(DETECTED + timedelta(minutes=i), "octocat", "note",
                                  f"entry {i} " + "y" * 250) for i in range(3000))
    evidence = tuple(Evidence(f"run:{i}", "workflow_run", f"run {i} " + "z" * 150,
                              f"https://github.com/o/r/actions/runs/{i}", (("run_id", str(i)),),
                              DETECTED + timedelta(minutes=3 * i)) for i in range(1000))
    big = incident.replace(timeline=entries, evidence=evidence)
    body = render_body(big, CONFIG, DETECTED)
    assert len(body) < BODY_LIMIT - 5000
    sections = render_sections(big, CONFIG, DETECTED)
    timeline = sections["timeline"]
    assert "entry 2999 " in timeline and "entry 0 " not in timeline
    omitted = int(re.search(r"_(\d+) earlier entries not shown", timeline).group(1))  # type: ignore[union-attr]
    assert f"entry {omitted} " in timeline and f"entry {omitted - 1} " not in timeline
    assert "run 999 " in sections["evidence"] and "run 0 " not in sections["evidence"]
    # Oldest first across both lists: whatever evidence is left is newer than the
    # newest timeline entry dropped.
    shown = [int(n) for n in re.findall(r"\[run (\d+) ", sections["evidence"])]
    assert 3 * min(shown) >= omitted - 1
    # The trimmed sections still splice into a body a person has written around.
    spliced = splice("Notes by a person.\n\n" + body, sections)
    assert spliced.startswith("Notes by a person.") and extract(spliced, "dod") is not None


def test_oversized_configuration_is_cut_not_rejected() -> None:
    from watchkeeper.runbook.model import ChecklistItem, ChecklistPhase

    items = tuple(ChecklistItem(f"k{i}", "long item " + "w" * 280) for i in range(400))
    config = replace(CONFIG, checklist=(ChecklistPhase("p", "Phase", items),))
    incident, _ = _opened()
    body = render_body(incident, config, DETECTED)
    assert len(body) < BODY_LIMIT
    assert "this section is too long for an issue body" in body
    assert read_meta(body) is not None


def test_unknown_severity_in_config_does_not_crash() -> None:
    incident, _ = _opened()
    config = replace(CONFIG, sla={"critical": CONFIG.sla["critical"]})
    out = render_sections(incident.replace(severity="low"), config, DETECTED)["sla"]
    assert out.endswith("No SLA targets are configured for low.")
    assert Duration(1, "hours").describe() == "1 hour"
