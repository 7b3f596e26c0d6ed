"""Times and durations as the incident issue shows them: always UTC, to the minute."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from watchkeeper.runbook.sla import format_duration


def utc(at: datetime | None) -> str:
    """"2026-03-02 09:15 UTC" ("unknown" for None; naive times are taken as UTC)."""
    if at is None:
        return "unknown"
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def duration(td: timedelta) -> str:
    """A short duration ("45m", "2h 5m", "1d 3h")."""
    return format_duration(td)
