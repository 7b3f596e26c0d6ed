"""The weekly review issue as markdown. Pure; untrusted titles are neutralised here."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from watchkeeper.record import Incident
from watchkeeper.render.escape import link, mention, neutralise
from watchkeeper.render.times import duration, utc
from watchkeeper.slaclock.figures import Figures, figures_markdown
from watchkeeper.slaclock.review import (
    FIGURES_WINDOW,
    PreventiveAction,
    ReviewSlot,
    StepState,
    review_marker,
)
from watchkeeper.slaclock.steps import STEP_TITLES

_REPO = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]*/[A-Za-z0-9._-]+")
# Rows per table, so the issue stays well under GitHub's 65,536-character body limit.
MAX_ROWS = 60
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


@dataclass(frozen=True, slots=True)
class IncidentRow:
    incident: Incident
    states: tuple[StepState, ...]


def review_title(slot: ReviewSlot) -> str:
    return f"Weekly security review {slot.week}"


def _ref(incident: Incident) -> str:
    """"owner/repo#12 INC-...: title"; GitHub links the reference on any host."""
    title = neutralise(incident.title, max_len=80)
    if incident.issue_number is None or not _REPO.fullmatch(incident.tracker_repo):
        return f"{neutralise(incident.id, max_len=64)}: {title}"
    return f"{incident.tracker_repo}#{incident.issue_number} {neutralise(incident.id)}: {title}"


def _open_state(row: IncidentRow, now: datetime) -> str:
    parts: list[str] = []
    for state in row.states:
        if state.outcome == "missed" and state.met is None and state.deadline is not None:
            parts.append(f"**breached**: {STEP_TITLES[state.step]} "
                         f"({duration(now - state.deadline)} ago)")
    upcoming = [s for s in row.states if s.outcome == "pending" and s.deadline is not None]
    if upcoming:
        nxt = min(upcoming, key=lambda s: s.deadline or now)
        assert nxt.deadline is not None
        parts.append(f"next: {STEP_TITLES[nxt.step]} by {utc(nxt.deadline)} "
                     f"({duration(nxt.deadline - now)} left)")
    if parts:
        return "; ".join(parts)
    if all(s.met is not None for s in row.states):
        return "all steps met"
    return "no deadline pending"


def _took(row: IncidentRow, step: str) -> str:
    state = next(s for s in row.states if s.step == step)
    if state.met is None:
        return "n/a"
    text = duration(max(state.met - row.incident.detected_at, timedelta(0)))
    return f"{text} (late)" if state.outcome == "missed" else text


def _compliance(row: IncidentRow) -> str:
    missed = [STEP_TITLES[s.step] for s in row.states if s.outcome == "missed"]
    if missed:
        return "missed: " + ", ".join(missed)
    return "met" if any(s.outcome == "met" for s in row.states) else "n/a"


def _action_row(action: PreventiveAction, today_start: datetime) -> str:
    owners = ", ".join(mention(o) for o in action.owners) or "**no owner**"
    if action.due is None:
        due, state = "**no due date**", "open"
    else:
        due = action.due.isoformat()
        late = (today_start.date() - action.due).days
        state = f"**overdue** ({late}d)" if late > 0 else "open"
    title = link(action.title, action.url, max_len=120)
    return f"| {title} | {owners} | {due} | {state} |"


def _more(count: int) -> list[str]:
    return ["", f"_{count - MAX_ROWS} more not shown._"] if count > MAX_ROWS else []


def render_review(slot: ReviewSlot, open_rows: Sequence[IncidentRow],
                  closed_rows: Sequence[IncidentRow], actions: Sequence[PreventiveAction],
                  figures: Figures, now: datetime, today_start: datetime) -> str:
    """The review issue's body. `actions` come ordered (overdue first); `today_start` is
    the start of today in the review's timezone, which decides what is overdue."""
    overdue = sum(a.overdue(today_start.date()) for a in actions)
    local = slot.scheduled_at.astimezone(today_start.tzinfo)
    lines = [
        review_marker(slot.week),
        f"## Weekly security review {slot.week}",
        "",
        f"Covers {utc(slot.period_start)} to {utc(slot.period_end)} "
        f"(weekly on {_DAYS[local.weekday()]} {local:%H:%M} {slot.timezone}). "
        f"Updated {utc(now)} from Watchkeeper's incident record; running the sweep again "
        "updates this issue in place.",
        "",
        f"### Open incidents ({len(open_rows)})",
        "",
    ]
    if open_rows:
        lines += ["| Incident | Severity | Status | Detected | SLA |",
                  "| --- | --- | --- | --- | --- |"]
        lines += [f"| {_ref(r.incident)} | {r.incident.severity} | {r.incident.status} | "
                  f"{utc(r.incident.detected_at)} | {_open_state(r, now)} |"
                  for r in open_rows[:MAX_ROWS]]
        lines += _more(len(open_rows))
    else:
        lines.append("_None._")
    lines += ["", f"### Closed in the period ({len(closed_rows)})", ""]
    if closed_rows:
        lines += ["| Incident | Severity | Time to acknowledge | Time to contain | Time to fix "
                  "| SLA |", "| --- | --- | --- | --- | --- | --- |"]
        lines += [f"| {_ref(r.incident)} | {r.incident.severity} | {_took(r, 'acknowledge')} | "
                  f"{_took(r, 'contain')} | {_took(r, 'fix')} | {_compliance(r)} |"
                  for r in closed_rows[:MAX_ROWS]]
        lines += _more(len(closed_rows))
    else:
        lines.append("_None._")
    lines += ["", f"### Preventive actions ({len(actions)} open, {overdue} overdue)", ""]
    if actions:
        lines += ["| Action | Owner | Due | State |", "| --- | --- | --- | --- |"]
        lines += [_action_row(a, today_start) for a in actions[:MAX_ROWS]]
        lines += _more(len(actions))
    else:
        lines.append("_None open._")
    days = FIGURES_WINDOW.days
    lines += ["", f"### Response figures, last {days} days", "",
              "Means from detection (n: incidents that reached the step); MTTR is time to "
              "the permanent fix.", "", figures_markdown(figures)]
    return "\n".join(lines) + "\n"
