"""Parsers for the scalar values a config file holds: durations, logins, repositories.

Each returns the parsed value or raises ValueError whose message is the hint shown
to the person who wrote the file.
"""

from __future__ import annotations

import re
from datetime import date, datetime

from watchkeeper.runbook.model import Duration, DurationUnit

# Kept in step with the "duration" pattern in schema.json.
_DURATION = re.compile(
    r"^(?P<amount>[1-9][0-9]{0,3}) ?"
    r"(?P<unit>m|mins?|minutes?|h|hrs?|hours?|bd|business[ _-]?days?)$"
)
_NEXT_RELEASE = re.compile(r"^next[ _-]release$")
_LOGIN = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}$")
_TEAM_SLUG = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
_REPO_NAME = re.compile(r"^[A-Za-z0-9._-]{1,100}$")
_DAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_DAYS = {name[:n]: index for index, name in enumerate(_DAY_NAMES) for n in (3, len(name))}

_UNITS: dict[str, DurationUnit] = {"m": "minutes", "h": "hours", "b": "business_days"}

DURATION_HINT = 'write "15m", "4h", "3bd" (business days) or "next release"'


def parse_duration(value: object) -> Duration:
    """'15m' / '15 minutes', '4h' / '4 hours', '3bd' / '3 business days', 'next release'."""
    if not isinstance(value, str):
        raise ValueError(DURATION_HINT)
    text = value.strip()
    if _NEXT_RELEASE.match(text):
        return Duration(0, "next_release")
    found = _DURATION.match(text)
    if not found:
        raise ValueError(DURATION_HINT)
    amount = int(found["amount"])
    first = found["unit"][0]
    return Duration(amount, _UNITS[first])


def format_duration_setting(duration: Duration) -> str:
    """The config-file spelling of `duration` (the inverse of parse_duration)."""
    if duration.unit == "next_release":
        return "next release"
    suffix = {"minutes": "m", "hours": "h", "business_days": "bd"}[duration.unit]
    return f"{duration.amount}{suffix}"


def parse_principal(value: object) -> str:
    """A GitHub login ("octocat", "@octocat" is accepted) or a team ("@my-org/security")."""
    hint = 'use a GitHub login such as "octocat" or a team such as "@my-org/security"'
    if not isinstance(value, str):
        raise ValueError(hint)
    text = value.strip()
    if "/" in text:
        org, _, slug = text.removeprefix("@").partition("/")
        if _LOGIN.match(org) and _TEAM_SLUG.match(slug):
            return f"@{org}/{slug}"
        raise ValueError(hint)
    login = text.removeprefix("@")
    if _LOGIN.match(login):
        return login
    raise ValueError(hint)


def parse_repository(value: object) -> str:
    """'owner/name'."""
    hint = 'use "owner/name", for example "my-org/security-incidents"'
    if not isinstance(value, str):
        raise ValueError(hint)
    owner, slash, name = value.strip().partition("/")
    if slash and _LOGIN.match(owner) and _REPO_NAME.match(name) and name not in {".", ".."}:
        return f"{owner}/{name}"
    raise ValueError(hint)


def parse_workday(value: object) -> int:
    """'mon'..'sun' (or the full name), or 0..6 with Monday=0."""
    hint = "use day names mon..sun or numbers 0..6 (Monday=0)"
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 6:
        return value
    if isinstance(value, str) and value.strip().lower() in _DAYS:
        return _DAYS[value.strip().lower()]
    raise ValueError(hint)


def parse_date(value: object) -> date:
    """A YYYY-MM-DD date (YAML already turns unquoted ones into dates)."""
    hint = "use YYYY-MM-DD, for example 2025-12-25"
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError as exc:
            raise ValueError(hint) from exc
    raise ValueError(hint)
