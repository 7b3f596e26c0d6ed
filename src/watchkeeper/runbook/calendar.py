"""Working days: which local dates count towards business-day SLA targets.

The calendar is configuration (timezone, workdays, explicit holiday dates and,
optionally, a country's public holidays from the `holidays` library), so the
same incident gets the same deadlines on every replica and after every restart.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from watchkeeper.runbook.model import CalendarConfig

# A configured calendar with no working day for this long is a configuration error,
# not a reason to loop forever.
_MAX_SEARCH_DAYS = 3 * 366


class CalendarError(ValueError):
    """The calendar configuration cannot be used (unknown zone, country, no workdays).

    `setting` names the calendar key at fault, so the loader can point at its line.
    """

    def __init__(self, message: str, setting: str = "") -> None:
        super().__init__(message)
        self.setting = setting


def resolve_timezone(name: str) -> ZoneInfo:
    """The IANA zone `name`, or CalendarError with a hint."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError) as exc:
        raise CalendarError(
            f"unknown timezone {name!r} (use an IANA name such as 'UTC' or 'Europe/Berlin')",
            "timezone",
        ) from exc


@functools.lru_cache(maxsize=32)
def country_holiday_lookup(country: str) -> Callable[[date], bool]:
    """Public holidays of `country` ("DE", or "US-CA" for a subdivision).

    The `holidays` package is optional (the `holidays` extra), hence the lazy import.
    Cached: building a country's table is the slow part of a deadline.
    """
    try:
        import holidays  # optional dependency: imported only when configured
    except ImportError as exc:
        raise CalendarError(
            "public holidays need the 'holidays' package (install watchkeeper[holidays]) "
            "or remove the setting",
            "holiday_country",
        ) from exc
    code, _, subdiv = country.partition("-")
    try:
        table = holidays.country_holidays(code.upper(), subdiv=subdiv.upper() or None)
    except (NotImplementedError, KeyError, ValueError) as exc:
        raise CalendarError(
            f"unknown holiday country {country!r} (use an ISO 3166 code such as 'DE' "
            "or 'US-CA')",
            "holiday_country",
        ) from exc
    return lambda day: day in table


class WorkCalendar:
    """Answers "is this a working day" and adds business days, in the configured zone."""

    def __init__(self, config: CalendarConfig) -> None:
        if not config.workdays:
            raise CalendarError("workdays is empty: no day would ever count", "workdays")
        self.tz = resolve_timezone(config.timezone)
        self._workdays = frozenset(config.workdays)
        self._holidays = frozenset(config.holidays)
        self._public: Callable[[date], bool] | None = (
            country_holiday_lookup(config.holiday_country) if config.holiday_country else None
        )

    def is_working_day(self, day: date) -> bool:
        if day.weekday() not in self._workdays or day in self._holidays:
            return False
        return not (self._public is not None and self._public(day))

    def next_working_day(self, day: date) -> date:
        """The first working day strictly after `day`."""
        for offset in range(1, _MAX_SEARCH_DAYS + 1):
            candidate = day + timedelta(days=offset)
            if self.is_working_day(candidate):
                return candidate
        raise CalendarError(f"no working day within {_MAX_SEARCH_DAYS} days after {day}",
                            "holidays")

    def add_business_days(self, start: datetime, days: int) -> datetime:
        """`days` business days after `start`, as an aware UTC datetime.

        Rule: a business day is 24 hours of working-day clock time in the calendar's
        zone. From a time on a working day that means the same local clock time on
        the N-th following working day (Friday 16:30 + 3 = Wednesday 16:30). A start
        on a non-working day (weekend, holiday) counts from 00:00 of the next working
        day, so Saturday 10:00 + 1 = 00:00 on the working day after Monday (Tuesday
        00:00, i.e. the end of Monday). If the local time does not exist or is
        ambiguous on the target day (a DST change), zoneinfo's fold=0 reading is used.
        """
        if start.tzinfo is None:
            raise ValueError("start must be timezone-aware")
        if days < 0:
            raise ValueError("days must not be negative")
        local = start.astimezone(self.tz)
        day, clock = local.date(), local.time()
        if not self.is_working_day(day):
            day, clock = self.next_working_day(day), time(0, 0)
        for _ in range(days):
            day = self.next_working_day(day)
        return datetime.combine(day, clock, tzinfo=self.tz).astimezone(UTC)
