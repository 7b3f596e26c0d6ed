"""SLA deadlines from the detection time, per the runbook's targets.

Deadlines are computed from the signal's own time (not processing time) so they
stay true after downtime, and are always returned as aware UTC datetimes.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from watchkeeper.runbook.calendar import CalendarError, WorkCalendar
from watchkeeper.runbook.model import CalendarConfig, Duration, SlaTargets

MILESTONES: tuple[str, ...] = ("acknowledge", "contain", "fix")


def deadline(
    detected_at: datetime,
    target: Duration,
    calendar: CalendarConfig | WorkCalendar,
    *,
    next_release_due: datetime | None = None,
) -> datetime | None:
    """When `target` runs out for an incident detected at `detected_at`.

    minutes / hours are wall-clock; business_days follow WorkCalendar.add_business_days;
    next_release is the next release's due date when known, else None (no deadline).
    Raises CalendarError for an unusable calendar (the loader reports those earlier).
    """
    if detected_at.tzinfo is None:
        raise ValueError("detected_at must be timezone-aware")
    start = detected_at.astimezone(UTC)
    if target.unit == "minutes":
        return start + timedelta(minutes=target.amount)
    if target.unit == "hours":
        return start + timedelta(hours=target.amount)
    if target.unit == "business_days":
        cal = calendar if isinstance(calendar, WorkCalendar) else WorkCalendar(calendar)
        return cal.add_business_days(start, target.amount)
    if next_release_due is None:
        return None
    if next_release_due.tzinfo is None:
        raise ValueError("next_release_due must be timezone-aware")
    return next_release_due.astimezone(UTC)


def deadlines(
    detected_at: datetime,
    targets: SlaTargets,
    calendar: CalendarConfig,
    *,
    next_release_due: datetime | None = None,
) -> dict[str, datetime | None]:
    """{"acknowledge", "contain", "fix"} -> aware UTC deadline (None: no deadline)."""
    units = {getattr(targets, name).unit for name in MILESTONES}
    # Build the calendar once (it may load a country's holiday table), and only if needed.
    cal = WorkCalendar(calendar) if "business_days" in units else calendar
    return {
        name: deadline(detected_at, getattr(targets, name), cal, next_release_due=next_release_due)
        for name in MILESTONES
    }


def deadlines_with_fallback(
    detected_at: datetime,
    targets: SlaTargets,
    calendar: CalendarConfig,
    *,
    next_release_due: datetime | None = None,
) -> tuple[dict[str, datetime | None], CalendarConfig, CalendarError | None]:
    """`deadlines`, falling back to Monday-Friday UTC when the configured calendar is
    unusable (an unknown timezone or holiday country): a broken config never stops the
    clock. Returns the deadlines, the calendar used and the problem, if any."""
    try:
        return deadlines(detected_at, targets, calendar,
                         next_release_due=next_release_due), calendar, None
    except CalendarError as exc:
        fallback = CalendarConfig()
        return deadlines(detected_at, targets, fallback,
                         next_release_due=next_release_due), fallback, exc


def format_duration(td: timedelta) -> str:
    """A short human duration, the two largest units: "45m", "2h 5m", "1d 3h", "<1m".

    Rounded down to the minute; negative durations get a leading "-".
    """
    seconds = int(td.total_seconds())
    if seconds < 0:
        return "-" + format_duration(-td)
    if seconds == 0:
        return "0m"
    if seconds < 60:
        return "<1m"
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        return f"{days}d {hours}h" if hours else f"{days}d"
    if hours:
        return f"{hours}h {minutes}m" if minutes else f"{hours}h"
    return f"{minutes}m"
