"""Validation and construction of each config section from merged plain data.

Every builder takes the section's merged data and a Checker; it returns the typed
value, reporting each problem (with its path) instead of raising. A section with
any problem is not used: the loader keeps the previous layer's value for it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

from watchkeeper.runbook.calendar import CalendarError, WorkCalendar
from watchkeeper.runbook.checker import Checker, show
from watchkeeper.runbook.checklist_config import build_checklist
from watchkeeper.runbook.clock_config import build_review, build_sla_clock
from watchkeeper.runbook.closure_config import build_closure
from watchkeeper.runbook.freeze_config import build_freeze
from watchkeeper.runbook.model import CalendarConfig, RoleConfig, Rule, SlaTargets
from watchkeeper.runbook.values import (
    parse_date,
    parse_duration,
    parse_principal,
    parse_repository,
    parse_workday,
)
from watchkeeper.runbook.yamldoc import Path
from watchkeeper.signals.payload import DETECTING_CONCLUSIONS

SEVERITIES = ("critical", "high", "medium", "low")
SOURCES = ("workflow_run", "check_run", "code_scanning_alert", "secret_scanning_alert",
           "dependabot_alert")
# Conclusions that can open an incident (a successful run is a recovery instead).
CONCLUSIONS = tuple(sorted(DETECTING_CONCLUSIONS))
# Payload levels a severity_map may key on, per source.
MAP_LEVELS: Mapping[str, tuple[str, ...]] = {
    "code_scanning_alert": ("critical", "high", "medium", "low", "error", "warning", "note",
                            "none"),
    "dependabot_alert": ("critical", "high", "medium", "low"),
}
ROLES = ("incident_commander", "mitigation_owner", "communications_owner", "security_owner")
TOP_LEVEL = ("severities", "rules", "roles", "checklist", "calendar", "incidents", "notify",
             "sla", "review", "closure", "freeze")

_RULE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_NOTIFY = re.compile(r"^@?[A-Za-z0-9][A-Za-z0-9_./:-]{0,99}$")


def build_severities(data: object, chk: Checker) -> Mapping[str, SlaTargets] | None:
    path: Path = ("severities",)
    levels = chk.mapping(data, path, SEVERITIES)
    if levels is None:
        return None
    result: dict[str, SlaTargets] = {}
    for level in SEVERITIES:
        steps = chk.mapping(levels.get(level), (*path, level), ("acknowledge", "contain", "fix"))
        if steps is None:
            continue
        parsed = {name: chk.parse(steps.get(name), (*path, level, name), parse_duration)
                  for name in ("acknowledge", "contain", "fix")}
        if all(parsed.values()):
            result[level] = SlaTargets(**parsed)  # type: ignore[arg-type]
    return MappingProxyType(result) if len(result) == len(SEVERITIES) else None


_RULE_KEYS = ("enabled", "source", "match", "conclusions", "branches", "severity",
              "severity_map")


def _build_rule(name: str, data: object, chk: Checker) -> Rule | None:
    path: Path = ("rules", name)
    before = len(chk.problems)
    if not _RULE_NAME.match(name):
        chk.report(path, f"invalid rule name {show(name)}",
                   "use letters, digits, '_', '-' and '.' (at most 64)", key=True)
    spec = chk.mapping(data, path, _RULE_KEYS)
    if spec is None:
        return None
    enabled = spec.get("enabled", True)
    if not isinstance(enabled, bool):
        chk.report((*path, "enabled"), f"expected true or false, got {show(enabled)}")
    source = chk.choice(spec.get("source"), (*path, "source"), SOURCES)
    match = chk.strings(spec.get("match", []), (*path, "match")) or []
    raw_conclusions = chk.strings(spec.get("conclusions", ["failure", "timed_out"]),
                                  (*path, "conclusions")) or []
    conclusions = [chk.choice(c, (*path, "conclusions", i), CONCLUSIONS)
                   for i, c in enumerate(raw_conclusions)]
    branches = chk.choice(spec.get("branches", "any"), (*path, "branches"), ("any", "default"))
    severity = spec.get("severity")
    if severity is not None:
        severity = chk.choice(severity, (*path, "severity"), SEVERITIES)
    severity_map = _build_severity_map(spec.get("severity_map"), source, path, chk)
    if len(chk.problems) == before:
        if spec.get("severity") is None and not severity_map:
            chk.report(path, "the rule sets neither severity nor severity_map",
                       "add `severity: high` (or a severity_map for alerts)")
        elif spec.get("severity") is not None and severity_map:
            chk.report(path, "the rule sets both severity and severity_map",
                       "set the one you don't want to null")
    if len(chk.problems) != before or source is None:
        return None
    scope: Literal["any", "default"] = "default" if branches == "default" else "any"
    return Rule(name=name, source=source, match=tuple(m.lower() for m in match),
                conclusions=tuple(c for c in conclusions if c), branches=scope,
                severity=severity, severity_map=severity_map, enabled=bool(enabled))


def _build_severity_map(data: object, source: str | None, path: Path, chk: Checker
                        ) -> tuple[tuple[str, str], ...]:
    if data is None:
        return ()
    map_path = (*path, "severity_map")
    levels = MAP_LEVELS.get(source or "")
    if source is not None and levels is None:
        chk.report(map_path, f"severity_map does not apply to {source}",
                   "use `severity` for this source")
        return ()
    entries = chk.mapping(data, map_path, levels)
    if entries is None:
        return ()
    result = []
    for level, severity in entries.items():
        if severity is None:
            continue  # mapped to null: this level does not open an incident
        if chk.choice(severity, (*map_path, level), SEVERITIES):
            result.append((level, severity))
    return tuple(result)


def build_rules(data: object, chk: Checker) -> tuple[Rule, ...] | None:
    rules = chk.mapping(data, ("rules",))
    if rules is None:
        return None
    built = [_build_rule(str(name), spec, chk) for name, spec in rules.items()]
    return None if any(rule is None for rule in built) else tuple(r for r in built if r)


def build_roles(data: object, chk: Checker) -> Mapping[str, RoleConfig] | None:
    roles = chk.mapping(data, ("roles",), ROLES)
    if roles is None:
        return None
    before = len(chk.problems)
    result: dict[str, RoleConfig] = {}
    for role in ROLES:
        path: Path = ("roles", role)
        spec = chk.mapping(roles.get(role, {}), path, ("default", "backup", "backup_title"))
        if spec is None:
            continue
        people = {k: None if spec.get(k) is None else chk.parse(spec[k], (*path, k),
                                                                 parse_principal)
                  for k in ("default", "backup")}
        title = spec.get("backup_title", "")
        if not isinstance(title, str) or len(title) > 100 or "\n" in title:
            chk.report((*path, "backup_title"), f"expected a short text, got {show(title)}")
            title = ""
        result[role] = RoleConfig(people["default"], people["backup"], title)
    return MappingProxyType(result) if len(chk.problems) == before else None


def build_calendar(data: object, chk: Checker) -> CalendarConfig | None:
    path: Path = ("calendar",)
    spec = chk.mapping(data, path, ("timezone", "workdays", "holidays", "holiday_country"))
    if spec is None:
        return None
    before = len(chk.problems)
    timezone = spec.get("timezone", "UTC")
    raw_days = spec.get("workdays", [0, 1, 2, 3, 4])
    raw_holidays = spec.get("holidays") or []
    country = spec.get("holiday_country")
    if not isinstance(raw_days, list) or not raw_days:
        chk.report((*path, "workdays"), f"expected a non-empty list of days, got "
                   f"{show(raw_days)}", "for example [mon, tue, wed, thu, fri]")
        raw_days = []
    days = [chk.parse(d, (*path, "workdays", i), parse_workday) for i, d in enumerate(raw_days)]
    if not isinstance(raw_holidays, list):
        chk.report((*path, "holidays"), "expected a list of dates", "for example [2025-12-25]")
        raw_holidays = []
    dates = [chk.parse(d, (*path, "holidays", i), parse_date) for i, d in enumerate(raw_holidays)]
    if country is not None and not isinstance(country, str):
        chk.report((*path, "holiday_country"), f"expected a country code, got {show(country)}")
    if not isinstance(timezone, str):
        chk.report((*path, "timezone"), f"expected a timezone name, got {show(timezone)}")
    if len(chk.problems) != before:
        return None
    config = CalendarConfig(
        timezone=timezone,
        workdays=tuple(sorted({d for d in days if d is not None})),
        holidays=tuple(sorted({d for d in dates if d is not None})),
        holiday_country=country,
    )
    try:
        WorkCalendar(config)
    except CalendarError as exc:
        chk.report((*path, exc.setting) if exc.setting else path, str(exc))
        return None
    return config


@dataclass(frozen=True, slots=True)
class IncidentSettings:
    repository: str | None
    occurrence_comment_minutes: int
    reopen_window_days: int


def build_incidents(data: object, chk: Checker) -> IncidentSettings | None:
    path: Path = ("incidents",)
    spec = chk.mapping(data, path, ("repository", "occurrence_comment_minutes",
                                    "reopen_window_days"))
    if spec is None:
        return None
    before = len(chk.problems)
    repository = spec.get("repository")
    if repository is not None:
        repository = chk.parse(repository, (*path, "repository"), parse_repository)
    minutes = chk.integer(spec.get("occurrence_comment_minutes", 60),
                          (*path, "occurrence_comment_minutes"), 0, 7 * 24 * 60)
    days = chk.integer(spec.get("reopen_window_days", 30), (*path, "reopen_window_days"), 0, 3650)
    if len(chk.problems) != before or minutes is None or days is None:
        return None
    return IncidentSettings(repository, minutes, days)


def build_notify(data: object, chk: Checker) -> tuple[str, ...] | None:
    names = chk.strings(data, ("notify",))
    if names is None:
        return None
    bad = [i for i, name in enumerate(names) if not _NOTIFY.match(name)]
    for index in bad:
        chk.report(("notify", index), f"invalid target name {show(names[index])}",
                   "use letters, digits and '_', '-', '.', '/', ':'")
    return None if bad else tuple(names)


BUILDERS: Mapping[str, Callable[[object, Checker], object | None]] = {
    "severities": build_severities,
    "rules": build_rules,
    "roles": build_roles,
    "checklist": build_checklist,
    "calendar": build_calendar,
    "incidents": build_incidents,
    "notify": build_notify,
    "sla": build_sla_clock,
    "review": build_review,
    "closure": build_closure,
    "freeze": build_freeze,
}
