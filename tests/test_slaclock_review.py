"""The weekly review's schedule and content, and the response figures. Pure."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta

from watchkeeper.record import Incident, SlaClock
from watchkeeper.runbook.config import default_config
from watchkeeper.runbook.model import ReviewConfig
from watchkeeper.slaclock.figures import figures, figures_json, figures_text
from watchkeeper.slaclock.review import (
    PreventiveAction,
    closed_in,
    order_actions,
    parse_due,
    review_marker,
    review_target,
    step_states,
    week_slot,
)
from watchkeeper.slaclock.review_render import IncidentRow, render_review
from watchkeeper.slaclock.steps import deadlines_for

CONFIG = default_config()
MONDAY = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)  # ISO week 2026-W49


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def incident(n: int, severity: str, detected: datetime, **changes: object) -> Incident:
    base = Incident(
        id=f"INC-2026-{n:04d}", fingerprint=f"fp{n}", repo="octo-org/octo-repo",
        tracker_repo="octo-org/octo-repo", installation_id=7, severity=severity,  # type: ignore[arg-type]
        status="open", rule="secret_scan", source="workflow_run", title=f"Failure {n}",
        detected_at=detected, recorded_at=detected, issue_number=n,
    )
    return base.replace(**changes)


def with_deadlines(record: Incident) -> Incident:
    due = deadlines_for(record, CONFIG)
    return record.replace(sla_clock=SlaClock(
        deadlines=tuple((k, v) for k, v in due.items() if v is not None)))


def test_the_slot_is_this_weeks_configured_day_and_time() -> None:
    slot = week_slot(MONDAY + timedelta(minutes=5), CONFIG)
    assert (slot.week, slot.scheduled_at, slot.period_start, slot.timezone) == (
        "2026-W49", MONDAY, MONDAY - timedelta(days=7), "UTC")
    assert slot.due(MONDAY) and not slot.due(MONDAY - timedelta(minutes=1))
    # The same week on Sunday evening: still W49's slot, long due.
    assert week_slot(utc(2026, 12, 6, 23, 0), CONFIG).week == "2026-W49"
    # Friday 16:00 in New York (UTC-5 in winter) is 21:00 UTC.
    ny = replace(CONFIG, review=ReviewConfig(weekday=4, at=time(16, 0),
                                             timezone="America/New_York"))
    slot = week_slot(MONDAY, ny)
    assert (slot.week, slot.scheduled_at) == ("2026-W49", utc(2026, 12, 4, 21, 0))
    assert not slot.due(MONDAY)
    # Sunday 23:30 UTC is already Monday in Tokyo: the local week decides.
    tokyo = replace(CONFIG, review=ReviewConfig(timezone="Asia/Tokyo"))
    assert week_slot(utc(2026, 12, 6, 23, 30), tokyo).week == "2026-W50"


def test_review_target_and_marker() -> None:
    assert review_target(CONFIG) is None  # neither review.repository nor incidents.repository
    tracked = replace(CONFIG, incidents_repository="octo-org/security")
    assert review_target(tracked) == "octo-org/security"
    own = replace(tracked, review=ReviewConfig(repository="octo-org/reviews"))
    assert review_target(own) == "octo-org/reviews"
    assert review_target(replace(own, review=ReviewConfig(enabled=False))) is None
    assert review_marker("2026-W49") == "<!-- watchkeeper:review 2026-W49 -->"
    assert review_marker("2026-W49 --><x>") == "<!-- watchkeeper:review 2026-W49 -->"


def test_due_dates_are_read_from_a_due_line() -> None:
    assert parse_due("Add a test.\n\nDue: 2026-12-01\nOwner: @alice") == date(2026, 12, 1)
    assert parse_due("- **Due:** 2026-12-02") == date(2026, 12, 2)
    assert parse_due("due: 2026-02-30\nDue: 2026-03-01") == date(2026, 3, 1)
    assert parse_due("Overdue: 2026-12-01") is None
    assert parse_due("The fix is due 2026-12-01") is None
    assert parse_due("") is None


def test_overdue_actions_come_first() -> None:
    def action(n: int, due: date | None) -> PreventiveAction:
        return PreventiveAction("octo-org/octo-repo", n, f"A{n}", "", (), due)

    today = date(2026, 11, 30)
    ordered = order_actions([action(1, None), action(2, date(2026, 12, 5)),
                             action(3, date(2026, 11, 29)), action(4, date(2026, 11, 1)),
                             action(5, today)], today)
    assert [a.number for a in ordered] == [4, 3, 5, 2, 1]


def test_figures_per_severity_with_sla_compliance() -> None:
    start = MONDAY - timedelta(days=30)
    records = [
        # Critical, acknowledged in 10m (met), contained in 5h (missed: 4h), fixed in 20h.
        with_deadlines(incident(1, "critical", utc(2026, 11, 20, 10, 0), status="closed",
                                closed_at=utc(2026, 11, 21, 8, 0), milestones=(
            ("acknowledged", utc(2026, 11, 20, 10, 10)), ("contained", utc(2026, 11, 20, 15, 0)),
            ("fixed", utc(2026, 11, 21, 6, 0))))),
        # Critical, acknowledged in 20m (missed), still open and past its contain deadline.
        with_deadlines(incident(2, "critical", utc(2026, 11, 25, 10, 0), milestones=(
            ("acknowledged", utc(2026, 11, 25, 10, 20)),))),
        # High, no deadlines stored (never swept): times count, compliance does not.
        incident(3, "high", utc(2026, 11, 26, 9, 0), milestones=(
            ("acknowledged", utc(2026, 11, 26, 9, 30)),)),
        # Outside the window.
        incident(4, "critical", start - timedelta(minutes=1)),
    ]
    result = figures(records, start, MONDAY)
    rows = {row.severity: row for row in result.rows}
    critical = rows["critical"]
    assert critical.incidents == 2
    ack = critical.step("acknowledge")
    assert (ack.count, ack.mean, ack.median) == (2, timedelta(minutes=15), timedelta(minutes=15))
    assert critical.step("contain").mean == timedelta(hours=5)
    assert critical.step("fix").count == 1 and critical.step("fix").mean == timedelta(hours=20)
    # met: INC-1 acknowledge, fix; missed: INC-1 contain, INC-2 acknowledge/contain/fix.
    assert (critical.sla_met, critical.sla_missed) == (2, 4)
    assert rows["high"].step("acknowledge").mean == timedelta(minutes=30)
    assert (rows["high"].sla_met, rows["high"].sla_missed) == (0, 0)
    assert rows["all"].incidents == 3 and rows["low"].incidents == 0

    data = figures_json(result)
    assert data["since"] == "2026-10-31T09:00:00+00:00"
    assert data["severities"]["critical"]["acknowledge"] == {
        "count": 2, "mean_seconds": 900, "median_seconds": 900}
    assert data["severities"]["critical"]["sla_compliance"] == 2 / 6
    assert data["severities"]["low"]["fix"] == {"count": 0, "mean_seconds": None,
                                                "median_seconds": None}
    json.dumps(data)  # plain JSON

    text = figures_text(result).splitlines()
    assert text[0] == "Incidents detected 2026-10-31 09:00 to 2026-11-30 09:00 UTC"
    assert text[2].split() == ["Severity", "Incidents", "MTTA", "Time", "to", "contain",
                               "MTTR", "SLA", "met"]
    assert text[3].split() == ["critical", "2", "15m", "(n=2)", "5h", "(n=1)", "20h", "(n=1)",
                               "33%"]
    assert text[5].split() == ["medium", "0", "n/a", "n/a", "n/a", "n/a"]


def test_review_body() -> None:
    slot = week_slot(MONDAY, CONFIG)
    closed = with_deadlines(incident(1, "high", utc(2026, 11, 24, 9, 0), status="closed",
                                     closed_at=utc(2026, 11, 27, 9, 0), milestones=(
        ("acknowledged", utc(2026, 11, 24, 9, 20)), ("contained", utc(2026, 11, 25, 8, 0)),
        ("fixed", utc(2026, 11, 26, 9, 0)))))
    breached = with_deadlines(incident(2, "critical", utc(2026, 11, 30, 8, 0),
                                       title="@octo-org/admins #1 <b>x</b>"))
    old = incident(3, "high", utc(2026, 11, 1, 9, 0), status="closed",
                   closed_at=utc(2026, 11, 2, 9, 0))
    assert closed_in([closed, breached, old], slot) == [closed]
    now = MONDAY + timedelta(minutes=1)

    def row(i: Incident) -> IncidentRow:
        return IncidentRow(i, step_states(i, dict(i.sla_clock.deadlines), now))

    actions = order_actions([
        PreventiveAction("octo-org/octo-repo", 40, "Add a tenant isolation test",
                         "https://github.com/octo-org/octo-repo/issues/40", ("alice",),
                         date(2026, 12, 10)),
        PreventiveAction("octo-org/octo-repo", 41, "Rotate @everyone's keys",
                         "https://github.com/octo-org/octo-repo/issues/41", (),
                         date(2026, 11, 20)),
    ], date(2026, 11, 30))
    body = render_review(slot, [row(breached)], [row(closed)], actions,
                         figures([closed, breached], MONDAY - timedelta(days=30), MONDAY),
                         now, datetime(2026, 11, 30, tzinfo=UTC))
    assert body.startswith("<!-- watchkeeper:review 2026-W49 -->\n"
                           "## Weekly security review 2026-W49\n")
    assert ("Covers 2026-11-23 09:00 UTC to 2026-11-30 09:00 UTC (weekly on Mon 09:00 UTC)."
            in body)
    assert "### Open incidents (1)" in body and "### Closed in the period (1)" in body
    open_line = next(line for line in body.splitlines() if "INC-2026-0002" in line)
    assert open_line.startswith("| octo-org/octo-repo#2 INC-2026-0002: ")
    assert "**breached**: Acknowledge (46m ago); next: Contain by 2026-11-30 12:00 UTC " \
           "(2h 59m left)" in open_line
    assert "@octo-org/admins" not in body and "<b>" not in body
    closed_line = next(line for line in body.splitlines() if "INC-2026-0001" in line)
    assert closed_line.endswith("| high | 20m | 23h | 2d | met |")
    assert "### Preventive actions (2 open, 1 overdue)" in body
    lines = body.splitlines()
    first = lines.index("| Action | Owner | Due | State |") + 2
    assert lines[first].endswith("| **no owner** | 2026-11-20 | **overdue** (10d) |")
    assert "@everyone" not in lines[first]
    assert lines[first + 1] == ("| [Add a tenant isolation test](https://github.com/octo-org/"
                                "octo-repo/issues/40) | @alice | 2026-12-10 | open |")
    assert "### Response figures, last 30 days" in body
