"""SLA deadlines to the minute: wall-clock targets, business days, holidays, time zones."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from watchkeeper.runbook.calendar import CalendarError, WorkCalendar
from watchkeeper.runbook.config import default_config
from watchkeeper.runbook.model import CalendarConfig, Duration, SlaTargets
from watchkeeper.runbook.sla import deadline, deadlines, format_duration

UTC_WEEK = CalendarConfig()


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def sla(level: str) -> SlaTargets:
    return default_config().sla[level]


def test_high_detected_friday_afternoon_fix_is_wednesday_same_time() -> None:
    # 2025-03-07 is a Friday.
    result = deadlines(utc(2025, 3, 7, 16, 30), sla("high"), UTC_WEEK)
    assert result == {
        "acknowledge": utc(2025, 3, 7, 17, 30),
        "contain": utc(2025, 3, 8, 16, 30),  # 24 hours: wall-clock, Saturday
        "fix": utc(2025, 3, 12, 16, 30),  # 3 business days: Mon, Tue, Wed
    }
    assert all(value is not None and value.tzinfo is UTC for value in result.values())


def test_critical_is_wall_clock_across_the_weekend() -> None:
    result = deadlines(utc(2025, 3, 7, 23, 50), sla("critical"), UTC_WEEK)
    assert result == {
        "acknowledge": utc(2025, 3, 8, 0, 5),
        "contain": utc(2025, 3, 8, 3, 50),
        "fix": utc(2025, 3, 8, 23, 50),
    }


def test_medium_detected_on_saturday_counts_from_monday_start() -> None:
    # Saturday: the clock starts at Monday 00:00; one business day later is Tuesday 00:00.
    result = deadlines(utc(2025, 3, 8, 10, 0), sla("medium"), UTC_WEEK)
    assert result == {
        "acknowledge": utc(2025, 3, 11, 0, 0),
        "contain": utc(2025, 3, 13, 0, 0),
        "fix": utc(2025, 3, 24, 0, 0),  # 10 working days from Monday 10th
    }


def test_low_fix_is_next_release_or_no_deadline() -> None:
    detected = utc(2025, 3, 5, 9, 15)  # Wednesday
    without = deadlines(detected, sla("low"), UTC_WEEK)
    assert without == {
        "acknowledge": utc(2025, 3, 7, 9, 15),
        "contain": utc(2025, 3, 19, 9, 15),
        "fix": None,
    }
    due = datetime(2025, 4, 1, 12, 0, tzinfo=timezone(timedelta(hours=2)))
    with_release = deadlines(detected, sla("low"), UTC_WEEK, next_release_due=due)
    assert with_release["fix"] == utc(2025, 4, 1, 10, 0)
    assert with_release["fix"].tzinfo is UTC  # type: ignore[union-attr]


def test_explicit_holiday_is_skipped() -> None:
    calendar = CalendarConfig(holidays=(date(2025, 3, 10),))  # Monday off
    assert deadlines(utc(2025, 3, 7, 16, 30), sla("high"), calendar)["fix"] == utc(
        2025, 3, 13, 16, 30)


def test_detection_on_a_holiday_counts_from_the_next_working_day() -> None:
    calendar = CalendarConfig(holidays=(date(2025, 3, 10),))
    got = deadline(utc(2025, 3, 10, 15, 0), Duration(1, "business_days"), calendar)
    assert got == utc(2025, 3, 12, 0, 0)  # clock starts Tue 00:00, one day: Wed 00:00


def test_country_public_holidays() -> None:
    # 2025-07-04 (Friday) is Independence Day in the US.
    calendar = CalendarConfig(holiday_country="US")
    result = deadlines(utc(2025, 7, 3, 9, 0), sla("high"), calendar)
    assert result["fix"] == utc(2025, 7, 9, 9, 0)  # Mon 7th, Tue 8th, Wed 9th
    assert deadlines(utc(2025, 7, 3, 9, 0), sla("high"), UTC_WEEK)["fix"] == utc(2025, 7, 8, 9, 0)


def test_country_subdivision_holidays() -> None:
    # 2025-01-06 (Monday), Epiphany, is a public holiday in Bavaria, not in Berlin.
    bavaria = CalendarConfig(holiday_country="DE-BY")
    berlin = CalendarConfig(holiday_country="DE-BE")
    friday = utc(2025, 1, 3, 12, 0)
    one = Duration(1, "business_days")
    assert deadline(friday, one, bavaria) == utc(2025, 1, 7, 12, 0)
    assert deadline(friday, one, berlin) == utc(2025, 1, 6, 12, 0)


def test_business_days_keep_local_clock_time_in_the_configured_zone() -> None:
    berlin = CalendarConfig(timezone="Europe/Berlin")
    # Friday 16:30 UTC is 17:30 in Berlin (CET): Wednesday 17:30 CET is 16:30 UTC.
    assert deadlines(utc(2025, 3, 7, 16, 30), sla("high"), berlin)["fix"] == utc(
        2025, 3, 12, 16, 30)
    # Across the change to summer time (Sunday 2025-03-30): Friday 17:30 CET + 1 business
    # day is Monday 17:30 CEST, which is 15:30 UTC, not 16:30.
    one = Duration(1, "business_days")
    assert deadline(utc(2025, 3, 28, 16, 30), one, berlin) == utc(2025, 3, 31, 15, 30)


def test_local_weekday_decides_not_the_utc_weekday() -> None:
    # Saturday 03:00 UTC is Friday 19:00 in Los Angeles: a working day there. US summer
    # time starts Sunday 2025-03-09, so Monday 19:00 PDT is Tuesday 02:00 UTC.
    los_angeles = CalendarConfig(timezone="America/Los_Angeles")
    one = Duration(1, "business_days")
    assert deadline(utc(2025, 3, 8, 3, 0), one, los_angeles) == utc(2025, 3, 11, 2, 0)
    # Friday 16:30 UTC is Saturday 01:30 in Tokyo: counting starts Monday 00:00 JST, so one
    # business day ends Tuesday 00:00 JST = Monday 15:00 UTC.
    tokyo = CalendarConfig(timezone="Asia/Tokyo")
    assert deadline(utc(2025, 3, 7, 16, 30), one, tokyo) == utc(2025, 3, 10, 15, 0)


def test_custom_workdays_sunday_to_thursday() -> None:
    calendar = CalendarConfig(workdays=(6, 0, 1, 2, 3))
    # Thursday 10:00 + 1 business day: Friday and Saturday are off, so Sunday 10:00.
    got = deadline(utc(2025, 3, 6, 10, 0), Duration(1, "business_days"), calendar)
    assert got == utc(2025, 3, 9, 10, 0)


def test_input_in_another_offset_gives_utc_output() -> None:
    detected = datetime(2025, 3, 7, 18, 30, tzinfo=timezone(timedelta(hours=2)))  # 16:30 UTC
    result = deadlines(detected, sla("high"), UTC_WEEK)
    assert result["acknowledge"] == utc(2025, 3, 7, 17, 30)
    assert result["fix"] == utc(2025, 3, 12, 16, 30)
    assert all(v is not None and v.tzinfo is UTC for v in result.values())


def test_naive_times_are_rejected() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        deadlines(datetime(2025, 3, 7, 16, 30), sla("high"), UTC_WEEK)


def test_unusable_calendars_raise_calendar_error() -> None:
    with pytest.raises(CalendarError, match="workdays is empty"):
        WorkCalendar(CalendarConfig(workdays=()))
    with pytest.raises(CalendarError, match="timezone"):
        WorkCalendar(CalendarConfig(timezone="Mars/Olympus_Mons"))
    with pytest.raises(CalendarError, match="holiday country"):
        WorkCalendar(CalendarConfig(holiday_country="XX"))


def test_working_day_queries() -> None:
    calendar = WorkCalendar(CalendarConfig(holidays=(date(2025, 12, 25),)))
    assert calendar.is_working_day(date(2025, 12, 24))
    assert not calendar.is_working_day(date(2025, 12, 25))
    assert not calendar.is_working_day(date(2025, 12, 27))  # Saturday
    assert calendar.next_working_day(date(2025, 12, 24)) == date(2025, 12, 26)


@pytest.mark.parametrize(
    ("delta", "text"),
    [
        (timedelta(0), "0m"),
        (timedelta(seconds=59), "<1m"),
        (timedelta(minutes=45, seconds=59), "45m"),
        (timedelta(hours=2), "2h"),
        (timedelta(hours=2, minutes=5), "2h 5m"),
        (timedelta(days=1, hours=3, minutes=59), "1d 3h"),
        (timedelta(days=3), "3d"),
        (timedelta(hours=-1, minutes=-10), "-1h 10m"),
    ],
)
def test_format_duration(delta: timedelta, text: str) -> None:
    assert format_duration(delta) == text
