"""The weekly security review: when it is due, and what goes in it. Pure.

One issue per ISO week, identified by a hidden marker holding the week ("2026-W48") and
found again by listing the review label, never through the search API. The review covers
the seven days before its scheduled time, so every closed incident appears in exactly
one review. Preventive actions are issues labelled `preventive-action`: the owner is the
assignee, the due date a `Due: YYYY-MM-DD` line in the body.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from watchkeeper.actions import LabelSpec
from watchkeeper.record import Incident
from watchkeeper.runbook.calendar import CalendarError, resolve_timezone
from watchkeeper.runbook.model import Config
from watchkeeper.slaclock.figures import step_outcome
from watchkeeper.slaclock.steps import STEPS, step_met

REVIEW_LABEL = LabelSpec("security-review", "5319e7", "Weekly security review by Watchkeeper")
PREVENTIVE_LABEL = "preventive-action"
FIGURES_WINDOW = timedelta(days=30)
_DUE = re.compile(r"^[ \t>*_-]*due[*_ \t]*:[*_ \t]*(\d{4}-\d{2}-\d{2})\b", re.I | re.M)


@dataclass(frozen=True, slots=True)
class ReviewSlot:
    week: str  # ISO week, "2026-W48"
    scheduled_at: datetime  # UTC: this week's configured day and time
    period_start: datetime  # UTC: the same local time one week earlier
    timezone: str

    @property
    def period_end(self) -> datetime:
        return self.scheduled_at

    def due(self, now: datetime) -> bool:
        return self.scheduled_at <= now


def review_target(config: Config) -> str | None:
    """The repository holding the review issues; None: no review for this config."""
    if not config.review.enabled:
        return None
    return config.review.repository or config.incidents_repository


def review_zone(config: Config) -> ZoneInfo:
    try:
        return resolve_timezone(config.review.timezone or config.calendar.timezone)
    except CalendarError:
        return ZoneInfo("UTC")


def week_slot(now: datetime, config: Config) -> ReviewSlot:
    """The review slot of the ISO week `now` falls in (local to the review's timezone)."""
    zone = review_zone(config)
    local = now.astimezone(zone)
    monday = local.date() - timedelta(days=local.weekday())
    day = monday + timedelta(days=config.review.weekday)
    scheduled = datetime.combine(day, config.review.at, tzinfo=zone)
    start = datetime.combine(day - timedelta(days=7), config.review.at, tzinfo=zone)
    year, week, _ = day.isocalendar()
    return ReviewSlot(f"{year}-W{week:02d}", scheduled.astimezone(UTC), start.astimezone(UTC),
                      zone.key)


def review_marker(week: str) -> str:
    found = re.search(r"[0-9]{4}-W[0-9]{2}", week)
    return f"<!-- watchkeeper:review {found.group(0) if found else 'unknown'} -->"


# --- preventive actions ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PreventiveAction:
    repo: str
    number: int
    title: str  # untrusted
    url: str
    owners: tuple[str, ...]
    due: date | None

    def overdue(self, today: date) -> bool:
        return self.due is not None and self.due < today


def parse_due(body: str) -> date | None:
    """The date of the first `Due: YYYY-MM-DD` line (list markers and bold tolerated)."""
    for found in _DUE.finditer(body or ""):
        try:
            return date.fromisoformat(found.group(1))
        except ValueError:
            continue
    return None


def order_actions(actions: Iterable[PreventiveAction], today: date
                  ) -> list[PreventiveAction]:
    """Overdue first (longest overdue first), then by due date, undated last."""
    return sorted(actions, key=lambda a: (not a.overdue(today), a.due is None,
                                          a.due or date.max, a.repo, a.number))


# --- incidents ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StepState:
    step: str
    deadline: datetime | None
    met: datetime | None
    outcome: str  # "met", "missed", "pending", "none"


def step_states(incident: Incident, deadlines: Mapping[str, datetime | None],
                now: datetime) -> tuple[StepState, ...]:
    return tuple(StepState(step, deadlines.get(step), step_met(incident, step),
                           step_outcome(incident, step, deadlines.get(step), now))
                 for step in STEPS)


def closed_in(incidents: Iterable[Incident], slot: ReviewSlot) -> list[Incident]:
    return sorted((i for i in incidents if i.status == "closed" and i.closed_at is not None
                   and slot.period_start <= i.closed_at < slot.period_end),
                  key=lambda i: (i.closed_at, i.id))
