"""The configuration model: the runbook as typed, frozen data.

`runbook/defaults.yml` is the seed runbook expressed in this shape; the loader
(runbook/config.py) merges organisation and repository YAML over it and returns
problems instead of raising, so a broken config never stops an incident.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from datetime import time as dt_time
from typing import Literal

DurationUnit = Literal["minutes", "hours", "business_days", "next_release"]


@dataclass(frozen=True, slots=True)
class Duration:
    amount: int
    unit: DurationUnit

    def describe(self) -> str:
        if self.unit == "next_release":
            return "next release"
        word = {"minutes": "minute", "hours": "hour", "business_days": "business day"}[self.unit]
        return f"{self.amount} {word}{'' if self.amount == 1 else 's'}"


@dataclass(frozen=True, slots=True)
class SlaTargets:
    acknowledge: Duration
    contain: Duration
    fix: Duration


@dataclass(frozen=True, slots=True)
class Rule:
    """When a signal from `source` opens an incident, and at which severity."""

    name: str
    source: str  # a SourceKind
    # Case-insensitive substrings matched against workflow name / path / check name /
    # app slug. Empty: any.
    match: tuple[str, ...] = ()
    conclusions: tuple[str, ...] = ("failure", "timed_out")
    branches: Literal["any", "default"] = "any"
    severity: str | None = None  # fixed severity for every match
    # For alerts: payload severity level -> incident severity; levels absent do not open.
    severity_map: tuple[tuple[str, str], ...] = ()
    enabled: bool = True


@dataclass(frozen=True, slots=True)
class RoleConfig:
    default: str | None = None  # login or "@org/team"
    backup: str | None = None
    backup_title: str = ""  # the runbook's backup role name, e.g. "Engineering lead"


@dataclass(frozen=True, slots=True)
class ChecklistItem:
    key: str
    text: str
    # Ticking it marks this milestone ("acknowledged"), or it is one of the items that
    # together mark it ("contained", "fixed"). None: no milestone.
    milestone: str | None = None
    # The key of the item this one is a sub-item of (one level deep, listed right after
    # its parent within the phase); None for a top-level item.
    parent: str | None = None


@dataclass(frozen=True, slots=True)
class ChecklistPhase:
    key: str
    title: str
    items: tuple[ChecklistItem, ...]


@dataclass(frozen=True, slots=True)
class CalendarConfig:
    timezone: str = "UTC"
    workdays: tuple[int, ...] = (0, 1, 2, 3, 4)  # Monday=0
    holidays: tuple[date, ...] = ()
    holiday_country: str | None = None


@dataclass(frozen=True, slots=True)
class ReviewConfig:
    """The weekly security review: when, and in which repository, its issue is kept."""

    enabled: bool = True
    weekday: int = 0  # Monday=0
    at: dt_time = dt_time(9, 0)  # local time in `timezone`
    timezone: str | None = None  # None: the calendar's timezone
    repository: str | None = None  # None: the incidents repository; neither: no review


@dataclass(frozen=True, slots=True)
class ClosureConfig:
    """The Definition of Done check when an incident is closed, and where the postmortem goes."""

    # The fix must have run this long without the failure coming back (0: no window).
    monitoring_hours: int = 24
    # Unmet items on close: "label" (comment + needs:definition-of-done) or "reopen".
    on_unmet: Literal["label", "reopen"] = "label"
    postmortem_on_not_planned: bool = False  # false positives get no postmortem by default
    postmortem_dir: str = "docs/postmortems"
    decision_log: str = "docs/02-planning/decision-log.md"
    # Checklist items that verify containment / record the first stakeholder update.
    verification_items: tuple[str, ...] = ("validate_containment",)
    communication_items: tuple[str, ...] = ("stakeholder_update",)


@dataclass(frozen=True, slots=True)
class Config:
    sla: Mapping[str, SlaTargets]
    rules: tuple[Rule, ...]
    roles: Mapping[str, RoleConfig]
    checklist: tuple[ChecklistPhase, ...]
    calendar: CalendarConfig = field(default_factory=CalendarConfig)
    # "owner/name" where incidents are tracked instead of the signal's repository.
    incidents_repository: str | None = None
    # A repeated signal posts at most one occurrence comment per window (0: never comment).
    occurrence_comment_minutes: int = 60
    reopen_window_days: int = 30
    notify: tuple[str, ...] = ()
    closure: ClosureConfig = field(default_factory=ClosureConfig)
    # SLA reminders go out at this fraction of each step's allowed time.
    reminder_at: float = 0.75
    review: ReviewConfig = field(default_factory=ReviewConfig)
    # Incidents of these severities freeze deployments as soon as they open (evidence/freeze).
    freeze_severities: tuple[str, ...] = ()
    # Human-readable problems found while loading (file and line where known).
    problems: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Match:
    """The policy's verdict on a detection signal: it opens (or joins) an incident."""

    rule: str
    severity: str
    fingerprint: str  # repository + rule + subject + branch, stable across deliveries
    tracker_repo: str  # "owner/name" where the incident issue lives
