"""Period arithmetic: latest complete periods, comparisons, parsing, and UTC bounds per zone."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reportbot.core.periods import (
    KINDS,
    Period,
    iso_week_period,
    iso_z,
    latest_complete,
    local_midnight_utc,
    month_period,
    parse_period,
    utc_bounds,
)
from reportbot.errors import ConfigError

TODAY = date(2024, 8, 15)  # a Thursday in ISO week 33
SECOND = timedelta(seconds=1)
# UTC, the zones people ask about, and zones with odd offsets or DST at midnight.
ZONES = (
    "UTC",
    "Europe/Berlin",
    "Europe/Dublin",
    "America/New_York",
    "America/Santiago",
    "America/Havana",
    "America/St_Johns",
    "Asia/Beirut",
    "Asia/Kolkata",
    "Asia/Kathmandu",
    "Australia/Lord_Howe",
    "Africa/Casablanca",
    "Pacific/Apia",
    "Pacific/Kiritimati",
    "Pacific/Chatham",
)
# Far enough from date.min/date.max that a period and the one before it exist.
ANY_DAY = st.dates(min_value=date(2, 1, 1), max_value=date(9998, 12, 1))
# Within the years tz data describes in detail (before 1900 zones run on local mean time).
# The days an explicit period may cover (periods.EARLIEST..LATEST, with room for a range).
REPORTABLE_DAY = st.dates(min_value=date(1970, 1, 12), max_value=date(9997, 11, 1))
ZONED_DAY = st.dates(min_value=date(1900, 1, 1), max_value=date(2200, 12, 31))


def week(start: str, end: str) -> Period:
    return Period("week", date.fromisoformat(start), date.fromisoformat(end))


def month(start: str, end: str) -> Period:
    return Period("month", date.fromisoformat(start), date.fromisoformat(end))


def day(value: str) -> Period:
    return Period("day", date.fromisoformat(value), date.fromisoformat(value))


def span(start: str, end: str) -> Period:
    return Period("range", date.fromisoformat(start), date.fromisoformat(end))


def containing(kind: str, today: date) -> Period:
    """The period of ``kind`` that ``today`` lies in (not yet complete)."""
    if kind == "week":
        year, number, _ = today.isocalendar()
        return iso_week_period(year, number)
    if kind == "month":
        return month_period(today.year, today.month)
    return Period("day", today, today)


# --- latest_complete -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "today", "expected", "key"),
    [
        # Weeks: Monday-Sunday; the week containing today is never complete.
        ("week", "2024-08-19", week("2024-08-12", "2024-08-18"), "2024-W33"),  # a Monday
        ("week", "2024-08-18", week("2024-08-05", "2024-08-11"), "2024-W32"),  # a Sunday
        ("week", "2024-08-15", week("2024-08-05", "2024-08-11"), "2024-W32"),  # a Thursday
        ("week", "2024-01-01", week("2023-12-25", "2023-12-31"), "2023-W52"),  # Jan 1, Monday
        ("week", "2025-01-01", week("2024-12-23", "2024-12-29"), "2024-W52"),  # Jan 1, Wednesday
        ("week", "2025-01-06", week("2024-12-30", "2025-01-05"), "2025-W01"),  # spans new year
        ("week", "2021-01-04", week("2020-12-28", "2021-01-03"), "2020-W53"),  # a 53-week year
        ("week", "2021-01-10", week("2020-12-28", "2021-01-03"), "2020-W53"),
        ("week", "2027-01-04", week("2026-12-28", "2027-01-03"), "2026-W53"),
        ("week", "2027-01-11", week("2027-01-04", "2027-01-10"), "2027-W01"),
        ("week", "2024-03-04", week("2024-02-26", "2024-03-03"), "2024-W09"),  # over Feb 29
        # Months: the calendar month before today's.
        ("month", "2024-08-01", month("2024-07-01", "2024-07-31"), "2024-07"),
        ("month", "2024-08-31", month("2024-07-01", "2024-07-31"), "2024-07"),
        ("month", "2024-01-01", month("2023-12-01", "2023-12-31"), "2023-12"),
        ("month", "2024-03-01", month("2024-02-01", "2024-02-29"), "2024-02"),  # leap year
        ("month", "2023-03-15", month("2023-02-01", "2023-02-28"), "2023-02"),
        ("month", "2100-03-01", month("2100-02-01", "2100-02-28"), "2100-02"),  # not leap
        ("month", "2000-03-31", month("2000-02-01", "2000-02-29"), "2000-02"),  # leap
        ("month", "2024-05-10", month("2024-04-01", "2024-04-30"), "2024-04"),
        # Days: yesterday.
        ("day", "2024-08-15", day("2024-08-14"), "2024-08-14"),
        ("day", "2024-01-01", day("2023-12-31"), "2023-12-31"),
        ("day", "2024-03-01", day("2024-02-29"), "2024-02-29"),
        ("day", "2023-03-01", day("2023-02-28"), "2023-02-28"),
    ],
)
def test_latest_complete_is_the_last_whole_period_before_today(
    kind: str, today: str, expected: Period, key: str
) -> None:
    period = latest_complete(kind, date.fromisoformat(today))

    assert period == expected
    assert period.key == key


@pytest.mark.parametrize("kind", ["range", "year", "Week", ""])
def test_latest_complete_refuses_an_unknown_kind(kind: str) -> None:
    with pytest.raises(ConfigError, match="use week, month or day"):
        latest_complete(kind, TODAY)


@given(kind=st.sampled_from(KINDS), today=ANY_DAY)
def test_the_latest_complete_period_ends_before_today_and_the_next_one_holds_today(
    kind: str, today: date
) -> None:
    period = latest_complete(kind, today)
    current = containing(kind, today)

    assert period.start <= period.end < today
    assert current.start <= today <= current.end
    assert current.previous() == period


# --- previous --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("period", "expected"),
    [
        (week("2024-08-12", "2024-08-18"), week("2024-08-05", "2024-08-11")),
        (week("2025-01-06", "2025-01-12"), week("2024-12-30", "2025-01-05")),  # 2025-W01
        (week("2024-12-30", "2025-01-05"), week("2024-12-23", "2024-12-29")),
        (week("2021-01-04", "2021-01-10"), week("2020-12-28", "2021-01-03")),  # 2020-W53
        (month("2024-08-01", "2024-08-31"), month("2024-07-01", "2024-07-31")),
        (month("2024-07-01", "2024-07-31"), month("2024-06-01", "2024-06-30")),  # 31 -> 30
        (month("2024-05-01", "2024-05-31"), month("2024-04-01", "2024-04-30")),
        (month("2024-03-01", "2024-03-31"), month("2024-02-01", "2024-02-29")),  # leap Feb
        (month("2023-03-01", "2023-03-31"), month("2023-02-01", "2023-02-28")),
        (month("2024-02-01", "2024-02-29"), month("2024-01-01", "2024-01-31")),
        (month("2024-01-01", "2024-01-31"), month("2023-12-01", "2023-12-31")),  # year before
        (day("2024-08-15"), day("2024-08-14")),
        (day("2024-03-01"), day("2024-02-29")),
        (day("2024-01-01"), day("2023-12-31")),
        # Custom ranges: the equally long range just before, whatever the months.
        (span("2024-08-01", "2024-08-14"), span("2024-07-18", "2024-07-31")),
        (span("2024-08-15", "2024-08-15"), span("2024-08-14", "2024-08-14")),
        (span("2024-03-01", "2024-03-31"), span("2024-01-30", "2024-02-29")),
        (span("2024-01-01", "2024-01-31"), span("2023-12-01", "2023-12-31")),
        (span("2024-12-25", "2025-01-07"), span("2024-12-11", "2024-12-24")),
    ],
)
def test_previous_is_the_period_a_report_compares_with(period: Period, expected: Period) -> None:
    assert period.previous() == expected


@given(kind=st.sampled_from((*KINDS, "range")), today=ANY_DAY, length=st.integers(1, 400))
def test_the_previous_period_ends_the_day_before_the_period_starts(
    kind: str, today: date, length: int
) -> None:
    if kind == "range":
        period = Period("range", today, today + timedelta(days=length - 1))
    else:
        period = containing(kind, today)

    previous = period.previous()

    assert previous.kind == period.kind
    assert previous.end + timedelta(days=1) == period.start
    if kind == "month":
        assert previous.start.day == 1
        assert (previous.end + timedelta(days=1)).day == 1
    else:
        assert previous.length == period.length


# --- parse_period ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("week", week("2024-08-05", "2024-08-11")),
        ("month", month("2024-07-01", "2024-07-31")),
        ("day", day("2024-08-14")),
        ("2024-W33", week("2024-08-12", "2024-08-18")),
        ("2024-W01", week("2024-01-01", "2024-01-07")),
        ("2025-W01", week("2024-12-30", "2025-01-05")),
        ("2020-W53", week("2020-12-28", "2021-01-03")),
        ("2026-W53", week("2026-12-28", "2027-01-03")),
        ("2024-08", month("2024-08-01", "2024-08-31")),
        ("2024-02", month("2024-02-01", "2024-02-29")),
        ("2023-02", month("2023-02-01", "2023-02-28")),
        ("2024-12", month("2024-12-01", "2024-12-31")),
        ("2024-08-15", day("2024-08-15")),
        ("2024-02-29", day("2024-02-29")),
        ("2024-08-01..2024-08-14", span("2024-08-01", "2024-08-14")),
        ("2024-08-15..2024-08-15", span("2024-08-15", "2024-08-15")),
        ("2024-12-25..2025-01-07", span("2024-12-25", "2025-01-07")),
        ("  2024-W33\n", week("2024-08-12", "2024-08-18")),
        (" month ", month("2024-07-01", "2024-07-31")),
    ],
)
def test_parse_period_reads_every_spelling(spec: str, expected: Period) -> None:
    assert parse_period(spec, TODAY) == expected


@pytest.mark.parametrize(
    ("spec", "reason"),
    [
        ("2024-W54", "Invalid week: 54"),
        ("2023-W53", "Invalid week: 53"),  # 2023 has 52 ISO weeks
        ("2027-W53", "Invalid week: 53"),
        ("2024-W00", "Invalid week: 0"),
        ("2024-13", "month must be in 1..12"),
        ("2024-00", "month must be in 1..12"),
        ("2024-02-30", "day is out of range for month"),
        ("2023-02-29", "day is out of range for month"),
        ("2024-04-31", "day is out of range for month"),
        ("2024-08-14..2024-08-01", "the range ends before it starts"),
        ("2024-08-01..2024-02-30", "day is out of range for month"),
        ("0000-01", "year 0 is out of range"),
        ("garbage", "use week, month, day, 2024-W33, 2024-08, 2024-08-15"),
        ("", "use week, month, day"),
        ("weekly", "use week, month, day"),
        ("2024-8", "use week, month, day"),
        ("2024-W3", "use week, month, day"),
        ("2024W33", "use week, month, day"),
        ("2024/08/15", "use week, month, day"),
        ("2024-08-15T00:00", "use week, month, day"),
        ("2024-08-01...2024-08-14", "use week, month, day"),
        ("2024-08-01..", "use week, month, day"),
        ("2024-08-01 2024-08-14", "use week, month, day"),
        ("0001-01-01..9999-12-31", "from 1970-01-01 to 9998-12-31"),
        ("0001-W01", "from 1970-01-01 to 9998-12-31"),
        ("0001-01", "from 1970-01-01 to 9998-12-31"),
        ("0001-01-01", "from 1970-01-01 to 9998-12-31"),
        ("1969-12-31", "from 1970-01-01 to 9998-12-31"),
        ("9999-12-31", "from 1970-01-01 to 9998-12-31"),
        ("9999-W52", "date value out of range"),
        ("9999-12", "year 10000 is out of range"),
        ("1970-W01", "from 1970-01-01 to 9998-12-31"),  # starts on Mon 1969-12-29
        ("2000-01-01..2030-12-31", "a range is at most 3,660 days long (this one has 11,323)"),
    ],
)
def test_a_bad_period_is_a_config_error_that_names_it_and_says_why(spec: str, reason: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_period(spec, TODAY)

    message = str(caught.value)
    assert message.startswith(f"bad period {spec.strip()!r}: ")
    assert reason in message
    assert "\n" not in message
    assert caught.value.exit_status == 2


@pytest.mark.parametrize(
    "spec", ["1970-01-01", "1970-W02", "1970-01", "9998-12-31", "9998-W52", "9998-12"]
)
def test_a_period_at_the_limits_has_a_previous_period_and_utc_bounds_in_any_zone(
    spec: str,
) -> None:
    period = parse_period(spec, TODAY)
    for zone in ("Pacific/Kiritimati", "Etc/GMT+12"):
        utc_bounds(period.previous().start, period.end, ZoneInfo(zone))


@pytest.mark.parametrize(
    "period",
    [
        week("2024-08-12", "2024-08-18"),
        week("2024-12-30", "2025-01-05"),
        week("2020-12-28", "2021-01-03"),
        month("2024-02-01", "2024-02-29"),
        month("2023-12-01", "2023-12-31"),
        day("2024-02-29"),
        span("2024-08-01", "2024-08-14"),
        span("2024-08-15", "2024-08-15"),
    ],
)
def test_a_period_key_parses_back_to_the_same_period(period: Period) -> None:
    assert parse_period(period.key, TODAY) == period


@given(kind=st.sampled_from((*KINDS, "range")), today=REPORTABLE_DAY, length=st.integers(1, 400))
def test_every_period_key_parses_back_to_the_same_period(
    kind: str, today: date, length: int
) -> None:
    if kind == "range":
        period = Period("range", today, today + timedelta(days=length - 1))
    else:
        period = containing(kind, today)

    assert parse_period(period.key, TODAY) == period


@pytest.mark.parametrize(
    ("period", "key", "label", "short_label"),
    [
        (week("2024-08-12", "2024-08-18"), "2024-W33", "week 33, 2024 (Aug 12 – Aug 18)", "W33"),
        (week("2024-12-30", "2025-01-05"), "2025-W01", "week 1, 2025 (Dec 30 – Jan 5)", "W01"),
        (month("2024-08-01", "2024-08-31"), "2024-08", "August 2024", "August"),
        (day("2024-08-15"), "2024-08-15", "Thu 15 Aug 2024", "Aug 15"),
        (
            span("2024-08-01", "2024-08-14"),
            "2024-08-01..2024-08-14",
            "2024-08-01 – 2024-08-14",
            "Aug 1 – Aug 14",
        ),
    ],
)
def test_periods_have_a_key_a_label_and_a_short_label(
    period: Period, key: str, label: str, short_label: str
) -> None:
    assert (period.key, period.label, period.short_label) == (key, label, short_label)


def test_days_lists_every_local_day_of_the_period() -> None:
    period = month("2024-02-01", "2024-02-29")

    assert period.length == 29
    assert period.days()[0] == date(2024, 2, 1)
    assert period.days()[-1] == date(2024, 2, 29)
    assert len(set(period.days())) == 29


# --- utc_bounds ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("zone", "spec", "first", "last", "hours"),
    [
        # The design's example: Berlin's week 33 is CEST (+02:00).
        ("Europe/Berlin", "2024-W33", "2024-08-11T22:00:00Z", "2024-08-18T21:59:59Z", 168),
        # DST weeks: spring forward on Sunday 31 March, fall back on Sunday 27 October.
        ("Europe/Berlin", "2024-W13", "2024-03-24T23:00:00Z", "2024-03-31T21:59:59Z", 167),
        ("Europe/Berlin", "2024-W43", "2024-10-20T22:00:00Z", "2024-10-27T22:59:59Z", 169),
        ("Europe/Berlin", "2024-01", "2023-12-31T23:00:00Z", "2024-01-31T22:59:59Z", 744),
        ("America/New_York", "2024-08", "2024-08-01T04:00:00Z", "2024-09-01T03:59:59Z", 744),
        ("America/New_York", "2024-03-10", "2024-03-10T05:00:00Z", "2024-03-11T03:59:59Z", 23),
        ("America/New_York", "2024-11-03", "2024-11-03T04:00:00Z", "2024-11-04T04:59:59Z", 25),
        ("America/New_York", "2024-03", "2024-03-01T05:00:00Z", "2024-04-01T03:59:59Z", 743),
        ("Asia/Kolkata", "2024-08-15", "2024-08-14T18:30:00Z", "2024-08-15T18:29:59Z", 24),
        ("Asia/Kathmandu", "2024-08-15", "2024-08-14T18:15:00Z", "2024-08-15T18:14:59Z", 24),
        ("Pacific/Kiritimati", "2024-W33", "2024-08-11T10:00:00Z", "2024-08-18T09:59:59Z", 168),
        ("Pacific/Apia", "2020-W02", "2020-01-05T10:00:00Z", "2020-01-12T09:59:59Z", 168),
        ("Pacific/Apia", "2024-08-15", "2024-08-14T11:00:00Z", "2024-08-15T10:59:59Z", 24),
        ("UTC", "2024-08-15", "2024-08-15T00:00:00Z", "2024-08-15T23:59:59Z", 24),
        # Midnight itself is skipped: the day starts at 01:00 local, the end of the gap.
        ("America/Santiago", "2024-09-08", "2024-09-08T04:00:00Z", "2024-09-09T02:59:59Z", 23),
        ("America/Santiago", "2024-W36", "2024-09-02T04:00:00Z", "2024-09-09T02:59:59Z", 167),
        ("America/Santiago", "2024-09-07", "2024-09-07T04:00:00Z", "2024-09-08T03:59:59Z", 24),
        ("America/Havana", "2024-03-10", "2024-03-10T05:00:00Z", "2024-03-11T03:59:59Z", 23),
        ("Asia/Beirut", "2024-03-31", "2024-03-30T22:00:00Z", "2024-03-31T20:59:59Z", 23),
        # Midnight happens twice (Havana falls back 01:00 -> 00:00): the first one starts the day.
        ("America/Havana", "2024-11-03", "2024-11-03T04:00:00Z", "2024-11-04T04:59:59Z", 25),
        # Santiago falls back 00:00 -> 23:00: the repeated hour belongs to the day before.
        ("America/Santiago", "2024-04-06", "2024-04-06T03:00:00Z", "2024-04-07T03:59:59Z", 25),
        # Samoa skipped Friday 2011-12-30 entirely: the days around it still tile.
        (
            "Pacific/Apia",
            "2011-12-29..2011-12-31",
            "2011-12-29T10:00:00Z",
            "2011-12-31T09:59:59Z",
            48,
        ),
    ],
)
def test_utc_bounds_are_the_first_and_last_second_of_the_local_days(
    zone: str, spec: str, first: str, last: str, hours: int
) -> None:
    period = parse_period(spec, TODAY)

    lower, upper = utc_bounds(period.start, period.end, ZoneInfo(zone))

    assert (iso_z(lower), iso_z(upper)) == (first, last)
    assert upper + SECOND - lower == timedelta(hours=hours)


def test_a_day_that_never_happened_locally_has_an_empty_span() -> None:
    """Samoa jumped from Thursday 29 to Saturday 31 December 2011: Friday had no seconds."""
    lower, upper = utc_bounds(date(2011, 12, 30), date(2011, 12, 30), ZoneInfo("Pacific/Apia"))

    assert upper + SECOND == lower


def test_the_first_instant_of_a_day_with_a_midnight_gap_is_the_end_of_the_gap() -> None:
    zone = ZoneInfo("America/Santiago")

    first = local_midnight_utc(date(2024, 9, 8), zone)

    assert first == datetime(2024, 9, 8, 4, tzinfo=UTC)
    assert first.astimezone(zone).replace(tzinfo=None) == datetime(2024, 9, 8, 1, 0)
    assert (first - SECOND).astimezone(zone).replace(tzinfo=None) == datetime(
        2024, 9, 7, 23, 59, 59
    )


@given(zone=st.sampled_from(ZONES), day_=ZONED_DAY)
def test_local_midnight_is_the_first_instant_that_is_on_that_day_or_later(
    zone: str, day_: date
) -> None:
    tz = ZoneInfo(zone)

    first = local_midnight_utc(day_, tz)

    assert first.tzinfo is UTC
    assert first.astimezone(tz).date() >= day_
    assert (first - SECOND).astimezone(tz).date() < day_


@given(zone=st.sampled_from(ZONES), kind=st.sampled_from(KINDS), today=ZONED_DAY)
def test_consecutive_periods_tile_utc_with_no_gap_and_no_overlap(
    zone: str, kind: str, today: date
) -> None:
    tz = ZoneInfo(zone)
    period = containing(kind, today)
    previous = period.previous()

    previous_first, previous_last = utc_bounds(previous.start, previous.end, tz)
    first, last = utc_bounds(period.start, period.end, tz)

    assert previous_last + SECOND == first
    assert previous_first <= previous_last + SECOND  # empty only for a day a zone skipped
    assert first <= last + SECOND
