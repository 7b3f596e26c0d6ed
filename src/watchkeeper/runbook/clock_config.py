"""Validation of the SLA clock's settings: `sla` (reminders) and `review` (weekly review).

Same contract as runbook/sections.py: each builder takes the merged section and a
Checker, and returns the typed value or None after reporting every problem.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import time

from watchkeeper.runbook.calendar import CalendarError, resolve_timezone
from watchkeeper.runbook.checker import Checker, show
from watchkeeper.runbook.model import ReviewConfig
from watchkeeper.runbook.values import parse_repository, parse_workday
from watchkeeper.runbook.yamldoc import Path

_TIME = re.compile(r"^(?P<hour>[01][0-9]|2[0-3]):(?P<minute>[0-5][0-9])$")
TIME_HINT = 'write a quoted 24-hour time such as "09:00" (YAML reads unquoted 10:30 as a number)'


@dataclass(frozen=True, slots=True)
class SlaClockSettings:
    reminder_at: float


def build_sla_clock(data: object, chk: Checker) -> SlaClockSettings | None:
    path: Path = ("sla",)
    spec = chk.mapping(data, path, ("reminder_at",))
    if spec is None:
        return None
    value = spec.get("reminder_at", 0.75)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < 1:
        chk.report((*path, "reminder_at"),
                   f"expected a fraction between 0 and 1, got {show(value)}",
                   "0.75 reminds when three quarters of the allowed time have passed")
        return None
    return SlaClockSettings(float(value))


def parse_time_of_day(value: object) -> time:
    """'HH:MM', 24-hour."""
    found = _TIME.match(value.strip()) if isinstance(value, str) else None
    if found is None:
        raise ValueError(TIME_HINT)
    return time(int(found["hour"]), int(found["minute"]))


def build_review(data: object, chk: Checker) -> ReviewConfig | None:
    path: Path = ("review",)
    spec = chk.mapping(data, path, ("enabled", "weekday", "time", "timezone", "repository"))
    if spec is None:
        return None
    before = len(chk.problems)
    enabled = spec.get("enabled", True)
    if not isinstance(enabled, bool):
        chk.report((*path, "enabled"), f"expected true or false, got {show(enabled)}")
    weekday = chk.parse(spec.get("weekday", "mon"), (*path, "weekday"), parse_workday)
    at = chk.parse(spec.get("time", "09:00"), (*path, "time"), parse_time_of_day)
    zone = spec.get("timezone")
    if zone is not None:
        if not isinstance(zone, str):
            chk.report((*path, "timezone"), f"expected a timezone name, got {show(zone)}")
        else:
            try:
                resolve_timezone(zone)
            except CalendarError as exc:
                chk.report((*path, "timezone"), str(exc))
    repository = spec.get("repository")
    if repository is not None:
        repository = chk.parse(repository, (*path, "repository"), parse_repository)
    if len(chk.problems) != before or weekday is None or at is None:
        return None
    return ReviewConfig(enabled=bool(enabled), weekday=weekday, at=at, timezone=zone,
                        repository=repository)
