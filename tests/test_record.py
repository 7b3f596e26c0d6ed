"""The stored incident document round-trips every field, nested ones included."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from watchkeeper.record import (
    Evidence,
    Incident,
    Occurrences,
    TimelineEntry,
    incident_from_json,
    incident_to_json,
)

T0 = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


def full_incident() -> Incident:
    return Incident(
        id="INC-2026-0001", fingerprint="o/r|secret_scan|wf|main", repo="o/r",
        tracker_repo="o/incidents", installation_id=7, severity="critical", status="contained",
        rule="secret_scan", source="workflow_run", title="Secret scan failed",
        detected_at=T0, recorded_at=T0 + timedelta(minutes=2), issue_number=12, branch="main",
        commit_sha="abc", url="https://github.com/o/r/actions/runs/1", subject="wf",
        facts=(("run_id", "1"),), roles=(("incident_commander", "alice"),),
        milestones=(("acknowledged", T0 + timedelta(minutes=5)),),
        checklist_done=("open_channel",),
        occurrences=Occurrences(count=3, last_at=T0, last_url=None, last_commit="abc",
                                last_event_key="k", last_comment_at=T0),
        timeline=(TimelineEntry(T0, "alice", "decision", "Roll back", url=None, key="c:1"),),
        evidence=(Evidence("run:1", "workflow_run", "run", "https://x", (("run_id", "1"),), T0),),
        config_problems=("bad key",), closed_at=None, done_keys=("reminder:acknowledge",),
        version=4,
    )


def test_round_trip_keeps_every_field() -> None:
    incident = full_incident()
    assert incident_from_json(incident_to_json(incident)) == incident


def test_unknown_keys_are_ignored_and_missing_keys_default() -> None:
    text = incident_to_json(full_incident()).replace('"done_keys"', '"from_the_future"')
    restored = incident_from_json(text)
    assert restored.done_keys == ()
    assert restored.timeline[0].kind == "decision"


def test_done_keys_are_added_once() -> None:
    incident = full_incident().with_done("a", "reminder:acknowledge", "a")
    assert incident.done_keys == ("reminder:acknowledge", "a")
    assert incident.done("a") and not incident.done("b")
