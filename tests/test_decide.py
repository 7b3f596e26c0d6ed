"""decide() is pure: explicit times in, the record and the actions out."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from watchkeeper.actions import Comment, EnsureLabels, LabelSpec, OpenIssue, UpdateIssueSections
from watchkeeper.incident import TRANSITIONS, Decision, decide
from watchkeeper.record import Evidence, Incident, Occurrences, TimelineEntry
from watchkeeper.render.issue import render_body, render_sections
from watchkeeper.runbook.config import default_config
from watchkeeper.runbook.model import Match
from watchkeeper.signals.model import RepoRef, Signal

CONFIG = default_config()  # occurrence comments at most once per 60 minutes
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # the failed run completed (a Monday)
REPO = RepoRef("octo-org", "payments", private=True, default_branch="main", id=7)
RUN_URL = "https://github.com/octo-org/payments/actions/runs/{}"
MATCH = Match(rule="secret_scan", severity="critical",
              fingerprint="octo-org/payments|secret_scan|.github/workflows/secret-scan.yml|main",
              tracker_repo="octo-org/security-incidents")


def run_signal(run_id: int, at: datetime, *, kind: str = "detection", attempt: int = 1,
               sha: str = "a" * 40) -> Signal:
    conclusion = "failure" if kind == "detection" else "success"
    word = "failed" if kind == "detection" else "succeeded"
    return Signal(
        kind=kind,  # type: ignore[arg-type]
        source="workflow_run",
        repo=REPO,
        subject=".github/workflows/secret-scan.yml",
        event_key=f"workflow_run:{run_id}:{attempt}:{conclusion}",
        occurred_at=at,
        title=f"Workflow Secret scan {word} on main",
        installation_id=99,
        branch="main",
        commit_sha=sha,
        url=RUN_URL.format(run_id),
        state=conclusion,
        facts={"workflow_name": "Secret scan", "run_id": str(run_id), "run_attempt": str(attempt)},
        sender="octocat",
    )


def opened(now: datetime = T0 + timedelta(minutes=3)) -> Incident:
    decision = decide(None, run_signal(100, T0), MATCH, CONFIG, now, "INC-2026-0001")
    assert decision.incident is not None
    return decision.incident


# --- opening ---------------------------------------------------------------------

def test_a_detection_without_an_incident_opens_one() -> None:
    now = T0 + timedelta(minutes=7)
    signal = run_signal(100, T0)
    decision = decide(None, signal, MATCH, CONFIG, now, "INC-2026-0001")
    incident = decision.incident
    assert incident == Incident(
        id="INC-2026-0001",
        fingerprint=MATCH.fingerprint,
        repo="octo-org/payments",
        tracker_repo="octo-org/security-incidents",
        installation_id=99,
        severity="critical",
        status="open",
        rule="secret_scan",
        source="workflow_run",
        title="Workflow Secret scan failed on main",
        detected_at=T0,  # the signal's own time, not processing time
        recorded_at=now,
        branch="main",
        commit_sha="a" * 40,
        url=RUN_URL.format(100),
        subject=".github/workflows/secret-scan.yml",
        facts=(("run_attempt", "1"), ("run_id", "100"), ("workflow_name", "Secret scan")),
        occurrences=Occurrences(count=1, last_at=T0, last_url=RUN_URL.format(100),
                                last_commit="a" * 40, last_event_key="workflow_run:100:1:failure"),
        timeline=(
            TimelineEntry(T0, "watchkeeper", "detected",
                          "Detected: Workflow Secret scan failed on main",
                          url=RUN_URL.format(100), key="workflow_run:100:1:failure"),
            TimelineEntry(now, "watchkeeper", "recorded",
                          "Recorded by Watchkeeper, 7m after detection"),
        ),
        evidence=(Evidence("workflow_run:100:1:failure", "workflow_run",
                           "Workflow Secret scan failed on main", RUN_URL.format(100),
                           (("run_id", "100"), ("run_attempt", "1"), ("sha", "a" * 40)), T0),),
    )
    assert incident is not None
    assert decision.actions == (
        EnsureLabels("octo-org/security-incidents", (
            LabelSpec("incident", "5319e7", "Security incident tracked by Watchkeeper"),
            LabelSpec("severity:critical", "b60205",
                      "Incident severity critical (sets the SLA targets)"),
            LabelSpec("source:workflow_run", "c5def5",
                      "Incident opened from a workflow_run signal"),
            LabelSpec("status:open", "1d76db", "Incident phase: open"),
        )),
        OpenIssue(
            incident_id="INC-2026-0001",
            repo="octo-org/security-incidents",
            title="[INC-2026-0001] critical: Workflow Secret scan failed on main",
            body=render_body(incident, CONFIG, now),
            labels=("incident", "severity:critical", "source:workflow_run", "status:open"),
            marker="<!-- watchkeeper:incident INC-2026-0001 -->",
        ),
    )


def test_severity_label_colours() -> None:
    colours = {}
    for severity in ("critical", "high", "medium", "low"):
        decision = decide(None, run_signal(1, T0), replace(MATCH, severity=severity), CONFIG,
                          T0, "INC-1")
        labels = decision.actions[0]
        assert isinstance(labels, EnsureLabels)
        colours[severity] = labels.labels[1].color
    assert colours == {"critical": "b60205", "high": "d93f0b", "medium": "fbca04", "low": "0e8a16"}


def test_no_recorded_entry_when_processed_within_a_minute() -> None:
    incident = opened(now=T0 + timedelta(seconds=60))
    assert [e.kind for e in incident.timeline] == ["detected"]


def test_no_match_means_no_incident() -> None:
    assert decide(None, run_signal(100, T0), None, CONFIG, T0, "INC-1") == Decision(None, ())


def test_config_problems_and_unknown_severity_are_recorded() -> None:
    config = replace(CONFIG, problems=(".github/watchkeeper.yml line 4: unknown key 'rulez'",))
    decision = decide(None, run_signal(1, T0), replace(MATCH, severity="urgent"), config, T0,
                      "INC-1")
    assert decision.incident is not None
    assert decision.incident.severity == "critical"
    assert decision.incident.config_problems == (
        ".github/watchkeeper.yml line 4: unknown key 'rulez'",
        "rule 'secret_scan' gave unknown severity 'urgent'; treated as critical",
    )
    issue = decision.actions[1]
    assert isinstance(issue, OpenIssue)
    assert ("**Configuration problems** (defaults apply): .github/watchkeeper.yml line 4"
            in issue.body)


# --- occurrences -----------------------------------------------------------------

def test_a_repeat_counts_and_updates_the_body_without_comment_inside_the_window() -> None:
    incident = opened()
    now = T0 + timedelta(minutes=20)
    signal = run_signal(101, T0 + timedelta(minutes=15), sha="b" * 40)
    decision = decide(incident, signal, MATCH, CONFIG, now, "unused")
    updated = decision.incident
    assert updated is not None
    assert updated.occurrences == Occurrences(
        count=2, last_at=T0 + timedelta(minutes=15), last_url=RUN_URL.format(101),
        last_commit="b" * 40, last_event_key="workflow_run:101:1:failure", last_comment_at=None)
    assert updated.timeline[-1] == TimelineEntry(
        T0 + timedelta(minutes=15), "watchkeeper", "occurrence",
        "Occurred again (occurrence 2): Workflow Secret scan failed on main",
        url=RUN_URL.format(101), key="workflow_run:101:1:failure")
    # The repeated run is evidence too, with its identifiers.
    assert updated.evidence[-1] == Evidence(
        key="workflow_run:101:1:failure", kind="workflow_run",
        title="Workflow Secret scan failed on main", url=RUN_URL.format(101),
        identifiers=(("run_id", "101"), ("run_attempt", "1"), ("sha", "b" * 40)),
        at=T0 + timedelta(minutes=15))
    sections = render_sections(updated, CONFIG, now)
    assert decision.actions == (
        UpdateIssueSections("INC-2026-0001", "octo-org/security-incidents", (
            ("summary", sections["summary"]), ("evidence", sections["evidence"]),
            ("timeline", sections["timeline"]), ("meta", sections["meta"])),
            deferrable=True),  # may wait while the installation's writes queue up
    )
    assert "| Occurrences | 2 (latest 2026-03-02 09:15 UTC, [run](" in sections["summary"]


def test_a_repeat_after_the_window_comments_once() -> None:
    incident = opened()  # recorded at 09:03
    now = T0 + timedelta(minutes=63)
    decision = decide(incident, run_signal(101, T0 + timedelta(minutes=62)), MATCH, CONFIG, now,
                      "unused")
    assert decision.incident is not None
    assert decision.incident.occurrences.last_comment_at == now
    update, comment = decision.actions
    assert isinstance(update, UpdateIssueSections)
    assert comment == Comment(
        "INC-2026-0001", "octo-org/security-incidents",
        "**Repeated:** Workflow Secret scan failed on main — occurrence 2 of incident "
        f"INC-2026-0001, [run]({RUN_URL.format(101)}) at 2026-03-02 10:02 UTC on commit "
        f"`{'a' * 40}`.\n\nFurther repeats within 60 minutes update the count in the issue body "
        "without another comment.",
        key="occurrence:workflow_run:101:1:failure",
    )


def test_a_storm_of_repeats_makes_one_comment_per_window() -> None:
    incident = opened()
    comments: list[datetime] = []
    updates = 0
    for i in range(1, 181):  # a failure every minute for three hours
        now = T0 + timedelta(minutes=3 + i)
        decision = decide(incident, run_signal(100 + i, now - timedelta(seconds=30)), MATCH,
                          CONFIG, now, "unused")
        assert decision.incident is not None
        incident = decision.incident
        updates += sum(isinstance(a, UpdateIssueSections) for a in decision.actions)
        comments += [now for a in decision.actions if isinstance(a, Comment)]
    assert incident.occurrences.count == 181
    assert updates == 180
    assert comments == [T0 + timedelta(minutes=63), T0 + timedelta(minutes=123),
                        T0 + timedelta(minutes=183)]


def test_comments_can_be_switched_off() -> None:
    config = replace(CONFIG, occurrence_comment_minutes=0)
    decision = decide(opened(), run_signal(101, T0 + timedelta(days=1)), MATCH, config,
                      T0 + timedelta(days=1), "unused")
    assert [type(a) for a in decision.actions] == [UpdateIssueSections]


@pytest.mark.parametrize("key_source", ["opening", "last", "earlier"])
def test_a_replayed_event_changes_nothing(key_source: str) -> None:
    incident = opened()
    for run_id in (101, 102):
        result = decide(incident, run_signal(run_id, T0 + timedelta(minutes=run_id - 100)), MATCH,
                        CONFIG, T0 + timedelta(minutes=10), "unused").incident
        assert result is not None
        incident = result
    run_id = {"opening": 100, "last": 102, "earlier": 101}[key_source]
    decision = decide(incident, run_signal(run_id, T0), MATCH, CONFIG, T0 + timedelta(hours=5),
                      "unused")
    assert decision == Decision(incident, ())


def test_an_older_repeat_arriving_late_counts_but_keeps_the_latest() -> None:
    incident = decide(opened(), run_signal(105, T0 + timedelta(minutes=30)), MATCH, CONFIG,
                      T0 + timedelta(minutes=31), "unused").incident
    assert incident is not None
    late = decide(incident, run_signal(103, T0 + timedelta(minutes=10), sha="c" * 40), MATCH,
                  CONFIG, T0 + timedelta(minutes=32), "unused").incident
    assert late is not None
    assert late.occurrences.count == 3
    assert late.occurrences.last_at == T0 + timedelta(minutes=30)
    assert late.occurrences.last_url == RUN_URL.format(105)
    assert late.occurrences.last_commit == "a" * 40


# --- recovery --------------------------------------------------------------------

def test_recovery_records_and_prompts_validation_once() -> None:
    incident = opened()
    now = T0 + timedelta(hours=2)
    signal = run_signal(200, T0 + timedelta(hours=1, minutes=55), kind="recovery")
    decision = decide(incident, signal, None, CONFIG, now, "unused")
    updated = decision.incident
    assert updated is not None
    assert updated.timeline[-1] == TimelineEntry(
        T0 + timedelta(hours=1, minutes=55), "watchkeeper", "recovered",
        "Signal recovered: Workflow Secret scan succeeded on main", url=RUN_URL.format(200),
        key="workflow_run:200:1:success")
    assert updated.occurrences == incident.occurrences
    assert updated.evidence[-1].key == "workflow_run:200:1:success"
    update, comment = decision.actions
    rendered = render_sections(updated, CONFIG, now)
    assert update == UpdateIssueSections(
        "INC-2026-0001", "octo-org/security-incidents",
        (("evidence", rendered["evidence"]), ("timeline", rendered["timeline"])))
    assert isinstance(comment, Comment)
    assert comment.key == "recovered:workflow_run:200:1:success"
    assert comment.body.startswith(
        "**Signal recovered:** Workflow Secret scan succeeded on main — "
        f"[run]({RUN_URL.format(200)}) at 2026-03-02 10:55 UTC.\n\nValidate containment")
    assert decide(updated, signal, None, CONFIG, now + timedelta(minutes=5), "x") == \
        Decision(updated, ())
    # Only the first pass after the latest failure is news.
    again = run_signal(201, T0 + timedelta(hours=2, minutes=30), kind="recovery")
    assert decide(updated, again, None, CONFIG, now + timedelta(hours=1), "x") == \
        Decision(updated, ())


def test_a_pass_older_than_the_latest_failure_is_not_a_recovery() -> None:
    incident = decide(opened(), run_signal(105, T0 + timedelta(minutes=30)), MATCH, CONFIG,
                      T0 + timedelta(minutes=31), "unused").incident
    assert incident is not None
    stale = run_signal(104, T0 + timedelta(minutes=20), kind="recovery")
    assert decide(incident, stale, None, CONFIG, T0 + timedelta(minutes=40), "x") == \
        Decision(incident, ())


def test_recovery_without_an_open_incident_does_nothing() -> None:
    signal = run_signal(200, T0, kind="recovery")
    assert decide(None, signal, None, CONFIG, T0, "x") == Decision(None, ())
    closed = opened().replace(status="closed", closed_at=T0 + timedelta(hours=1))
    assert decide(closed, signal, None, CONFIG, T0, "x") == Decision(closed, ())


# --- other states and kinds ------------------------------------------------------

def test_a_detection_after_closure_opens_a_new_incident() -> None:
    closed = opened().replace(status="closed", closed_at=T0 + timedelta(hours=30))
    later = T0 + timedelta(days=3)
    decision = decide(closed, run_signal(300, later), MATCH, CONFIG, later, "INC-2026-0002")
    assert decision.incident is not None
    assert decision.incident.id == "INC-2026-0002"
    assert decision.incident.detected_at == later
    assert isinstance(decision.actions[1], OpenIssue)
    # ...but the replayed event that opened the closed one does not.
    assert decide(closed, run_signal(100, T0), MATCH, CONFIG, later, "INC-3") == \
        Decision(closed, ())


def test_other_kinds_change_nothing() -> None:
    incident = opened()
    signal = replace(run_signal(1, T0), kind="alert_state")
    assert decide(incident, signal, MATCH, CONFIG, T0, "x") == Decision(incident, ())


def test_the_transition_table() -> None:
    assert sorted(TRANSITIONS) == [("detection", "active"), ("detection", "closed"),
                                   ("detection", "none"), ("recovery", "active")]


def test_decide_is_deterministic() -> None:
    incident = opened()
    args = (incident, run_signal(101, T0 + timedelta(hours=2)), MATCH, CONFIG,
            T0 + timedelta(hours=2), "unused")
    assert decide(*args) == decide(*args)
