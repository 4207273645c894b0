"""Crontab schedules: parsed, translated for APScheduler, and checked against real fire times.

What APScheduler 3.11 does around DST, pinned below so an upgrade that changes it fails here:

- A job at a fixed wall time (09:00) stays at 09:00 local on both sides of a change.
- A wall time that does not exist (02:30 on Berlin's or New York's spring-forward day)
  fires once, an hour late by the wall clock (03:30 new time) - when the hour field is
  reached directly. When it is reached by rolling over from the day before, a time that
  does not exist is *skipped*: ``0 0 * * *`` in Santiago does not fire at all on
  2024-09-08 (midnight is skipped there), and ``*/30 2 * * *`` in Berlin fires at 02:00
  (as 03:00) but not at 02:30 on 2024-03-31.
- A wall time that occurs twice (02:30 on Berlin's fall-back day, 01:30 in New York)
  fires **twice**, an hour apart.
Reports are therefore best scheduled outside 00:00-03:00 local.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from apscheduler.triggers.cron import CronTrigger
from hypothesis import given
from hypothesis import strategies as st

from reportbot.config import parse_reports
from reportbot.core.cron import DAY_NAMES, DEFAULT_SCHEDULES, Cron, describe, parse_cron
from reportbot.errors import ConfigError

ALL_WEEK = "sun,mon,tue,wed,thu,fri,sat"
BERLIN = "Europe/Berlin"
NEW_YORK = "America/New_York"


def trigger(expression: str, zone: str) -> CronTrigger:
    return CronTrigger(**parse_cron(expression).trigger_fields(), timezone=ZoneInfo(zone))


def local(zone: str, y: int, mo: int, d: int, h: int = 0, mi: int = 0, s: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, s, tzinfo=ZoneInfo(zone))


def utc(y: int, mo: int, d: int, h: int = 0, mi: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=UTC)


def next_fire(expression: str, zone: str, now: datetime) -> datetime | None:
    fire: datetime | None = trigger(expression, zone).get_next_fire_time(None, now)
    return fire


def fires(expression: str, zone: str, now: datetime, until: datetime) -> list[datetime]:
    """Every fire time in ``[now, until)`` as UTC, asked the way the scheduler asks.

    Time is stepped in UTC: adding to a local datetime in a fold would silently lose the fold.
    """
    cron = trigger(expression, zone)
    found: list[datetime] = []
    fire = cron.get_next_fire_time(None, now)
    while fire is not None and fire < until:
        found.append(fire.astimezone(UTC))
        fire = cron.get_next_fire_time(fire, fire.astimezone(UTC) + timedelta(milliseconds=1))
    return found


# --- parsing and translation -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "day_of_week"),
    [
        ("0 9 * * 1", "mon"),
        ("0 9 * * 0", "sun"),
        ("0 9 * * 7", "sun"),
        ("0 9 * * 6", "sat"),
        ("0 9 * * 1-5", "mon,tue,wed,thu,fri"),
        ("0 9 * * 0-6", ALL_WEEK),
        ("0 9 * * 0-7", ALL_WEEK),
        ("0 9 * * 5-7", "fri,sat,sun"),
        ("0 9 * * 6-7", "sat,sun"),
        ("0 9 * * */2", "sun,tue,thu,sat"),
        ("0 9 * * */3", "sun,wed,sat"),
        ("0 9 * * 1-5/2", "mon,wed,fri"),
        ("0 9 * * 1/2", "mon,wed,fri"),
        ("0 9 * * 0,7", "sun"),
        ("0 9 * * 1,3,5", "mon,wed,fri"),
        ("0 9 * * 5,1", "fri,mon"),
        ("0 9 * * 1-3,2-4", "mon,tue,wed,thu"),
        ("0 9 * * mon", "mon"),
        ("0 9 * * MON", "mon"),
        ("0 9 * * sun", "sun"),
        ("0 9 * * mon-fri", "mon,tue,wed,thu,fri"),
        ("0 9 * * fri-sun", "fri,sat,sun"),
        ("0 9 * * sun-sat", ALL_WEEK),
        ("0 9 * * sun-sun", "sun"),
        ("0 9 * * sat,sun", "sat,sun"),
        ("0 9 * * *", "*"),
    ],
)
def test_crontab_weekdays_become_names_that_mean_the_same_to_apscheduler(
    expression: str, day_of_week: str
) -> None:
    assert parse_cron(expression).day_of_week == day_of_week


@pytest.mark.parametrize(
    ("expression", "fields"),
    [
        ("0 9 * * 1", {"minute": "0", "hour": "9", "day": "*", "month": "*"}),
        ("*/15 9-17 * * 1-5", {"minute": "*/15", "hour": "9-17", "day": "*", "month": "*"}),
        ("30 7 1,15 * *", {"minute": "30", "hour": "7", "day": "1,15", "month": "*"}),
        ("0 9 1 jan,jul *", {"minute": "0", "hour": "9", "day": "1", "month": "1,7"}),
        ("0 9 1 JAN-Mar *", {"minute": "0", "hour": "9", "day": "1", "month": "1-3"}),
        ("0 9 1 1-dec/3 *", {"minute": "0", "hour": "9", "day": "1", "month": "1-12/3"}),
        ("  0   9 1 * *  ", {"minute": "0", "hour": "9", "day": "1", "month": "*"}),
    ],
)
def test_the_other_fields_pass_through_with_month_names_as_numbers(
    expression: str, fields: dict[str, str]
) -> None:
    cron = parse_cron(expression)

    assert {k: v for k, v in cron.trigger_fields().items() if k != "day_of_week"} == fields


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("0 9 * *", "needs 5 fields"),
        ("0 9 * * * *", "needs 5 fields"),
        ("", "needs 5 fields"),
        ("@fortnightly", "unknown schedule '@fortnightly' (use @hourly, @daily, @weekly"),
        ("@", "unknown schedule '@'"),
        ("61 9 * * *", "bad minute value '61': expected 0-59"),
        ("0 24 * * *", "bad hour value '24': expected 0-23"),
        ("0 9 0 * *", "bad day value '0': expected 1-31"),
        ("0 9 32 * *", "bad day value '32': expected 1-31"),
        ("0 9 * 13 *", "bad month value '13': expected 1-12"),
        ("0 9 * 0 *", "bad month value '0': expected 1-12"),
        ("0 9 * * 8", "bad day_of_week value '8': expected 0-7"),
        ("0 9 * * funday", "bad day_of_week value 'funday'"),
        ("0 9 * * mon-", "bad day_of_week field 'mon-'"),
        ("0 9 * * 1,,2", "bad day_of_week field '1,,2'"),
        ("0 9 L * *", "bad day value 'l'"),
        ("0 9 ? * *", "bad day field '?'"),
        ("0 9 * * -1", "bad day_of_week field '-1'"),
        ("0 9 * mon *", "bad month value 'mon'"),
        ("*/0 9 * * *", "bad minute field '*/0': a step of 0"),
        ("0 9 * * */0", "bad day_of_week field '*/0': a step of 0"),
        ("0 9 1 * 1", "sets both day-of-month and day-of-week"),
        ("0 9 1-7 * mon", "sets both day-of-month and day-of-week"),
        # What APScheduler would refuse only when the scheduler starts.
        ("30-10 9 * * *", "bad minute field '30-10': 30-10 ends before it starts"),
        ("0 9 * 12-1 *", "bad month field '12-1': 12-1 ends before it starts"),
        ("0 9 * dec-jan *", "bad month field 'dec-jan': dec-jan ends before it starts"),
        ("0 9 * * 5-1", "bad day_of_week field '5-1': 5-1 ends before it starts"),
        ("0 9 * * sat-mon", "bad day_of_week field 'sat-mon': sat-mon ends before it starts"),
        ("0 9 * * mon-0", "ends before it starts"),
        ("*/61 9 * * *", "a step of 61 is longer than the range 0-59"),
        ("*/60 9 * * *", "a step of 60 is longer than the range 0-59"),
        ("0 */24 * * *", "a step of 24 is longer than the range 0-23"),
        ("0 9 */31 * *", "a step of 31 is longer than the range 1-31"),
        ("0 9 1 */12 *", "a step of 12 is longer than the range 1-12"),
        ("50/10 9 * * *", "a step of 10 is longer than the range 50-59"),
    ],
)
def test_a_bad_schedule_is_refused_with_a_message_naming_the_field(
    expression: str, message: str
) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        parse_cron(expression)


@pytest.mark.parametrize("period", sorted(DEFAULT_SCHEDULES))
def test_every_default_schedule_is_a_valid_crontab(period: str) -> None:
    assert isinstance(parse_cron(DEFAULT_SCHEDULES[period]), Cron)


FIELD_ITEMS = {
    "minute": ["*", "0", "30", "59", "61", "0-59", "30-10", "*/15", "*/61", "5/10", "50/10"],
    "hour": ["*", "0", "9", "23", "24", "9-17", "17-9", "*/6", "*/24", "1-1/1"],
    "day": ["*", "1", "15", "31", "0", "1-15", "20-10", "*/10", "*/31", "5/10"],
    "month": ["*", "1", "12", "jan", "dec", "jan-mar", "dec-jan", "1-dec", "*/3", "*/12"],
    "day_of_week": [
        *("*", "0", "1", "7", "mon", "sun", "1-5", "5-1", "fri-sun", "sun-sun"),
        *("sat-mon", "*/2", "7/2", "0-7", "mon-0", "1-5/2", "*/7", "8"),
    ],
}


def field(name: str) -> st.SearchStrategy[str]:
    return st.lists(st.sampled_from(FIELD_ITEMS[name]), min_size=1, max_size=3).map(",".join)


@given(
    minute=field("minute"),
    hour=field("hour"),
    day=field("day"),
    month=field("month"),
    day_of_week=field("day_of_week"),
    weekly=st.booleans(),
)
def test_every_schedule_parse_cron_accepts_builds_an_apscheduler_trigger(
    minute: str, hour: str, day: str, month: str, day_of_week: str, weekly: bool
) -> None:
    day, day_of_week = ("*", day_of_week) if weekly else (day, "*")
    try:
        cron = parse_cron(f"{minute} {hour} {day} {month} {day_of_week}")
    except ValueError:
        return

    CronTrigger(**cron.trigger_fields(), timezone=ZoneInfo("UTC"))


WEEKDAY_RANGES = st.tuples(st.integers(0, 7), st.integers(0, 7), st.integers(1, 8)).filter(
    lambda r: r[0] <= r[1]
)


def spelled(low: int, high: int, step: int, use_names: bool) -> str:
    def name(number: int) -> str:
        return DAY_NAMES[number] if use_names and not (number == 7 and low == 0) else str(number)

    if low == 0 and high == 7 and step > 1:
        return f"*/{step}"
    text = name(low) if low == high else f"{name(low)}-{name(high)}"
    return f"{text}/{step}" if step > 1 and low != high else text


@given(ranges=st.lists(WEEKDAY_RANGES, min_size=1, max_size=3), use_names=st.booleans())
def test_apscheduler_fires_on_exactly_the_weekdays_crontab_means(
    ranges: list[tuple[int, int, int]], use_names: bool
) -> None:
    items = [spelled(low, high, step, use_names) for low, high, step in ranges]
    expected = set()
    for (low, high, step), item in zip(ranges, items, strict=True):
        last = 6 if item.startswith("*/") else high
        expected |= {n % 7 for n in range(low, last + 1, step)}
    monday = local(BERLIN, 2024, 8, 12)

    found = fires(f"0 9 * * {','.join(items)}", BERLIN, monday, monday + timedelta(7))

    assert {(fire.weekday() + 1) % 7 for fire in found} == expected  # crontab numbering
    assert len(found) == len(expected)


# --- real fire times -------------------------------------------------------------------------


def test_apschedulers_own_crontab_reader_would_fire_monday_jobs_on_tuesday() -> None:
    """Why parse_cron exists: APScheduler counts weekdays from Monday = 0."""
    sunday = local(BERLIN, 2024, 8, 11, 10)

    theirs = CronTrigger.from_crontab("0 9 * * 1", timezone=ZoneInfo(BERLIN))

    assert theirs.get_next_fire_time(None, sunday) == local(BERLIN, 2024, 8, 13, 9)
    assert next_fire("0 9 * * 1", BERLIN, sunday) == local(BERLIN, 2024, 8, 12, 9)


@pytest.mark.parametrize(
    ("expression", "zone", "now", "expected"),
    [
        # Sunday 2024-08-11 10:00 Berlin: the Monday job is tomorrow, the Sunday job next week.
        ("0 9 * * 1", BERLIN, (2024, 8, 11, 10), (2024, 8, 12, 9)),
        ("0 9 * * 0", BERLIN, (2024, 8, 11, 10), (2024, 8, 18, 9)),
        ("0 9 * * 7", BERLIN, (2024, 8, 11, 10), (2024, 8, 18, 9)),
        ("0 9 * * sun", BERLIN, (2024, 8, 11, 8, 59), (2024, 8, 11, 9)),
        ("0 9 * * 0", BERLIN, (2024, 8, 11, 9), (2024, 8, 11, 9)),  # now itself counts
        ("0 9 * * 1-5", BERLIN, (2024, 8, 16, 10), (2024, 8, 19, 9)),  # Friday -> Monday
        ("0 9 * * 5-7", BERLIN, (2024, 8, 12, 10), (2024, 8, 16, 9)),
        ("0 9 * * 6", BERLIN, (2024, 8, 12, 10), (2024, 8, 17, 9)),
        ("0 9 * * */2", BERLIN, (2024, 8, 12, 10), (2024, 8, 13, 9)),  # Monday -> Tuesday
        ("0 9 * * fri-sun", BERLIN, (2024, 8, 12, 10), (2024, 8, 16, 9)),
        ("0 9 * * *", BERLIN, (2024, 8, 11, 10), (2024, 8, 12, 9)),
        ("0 9 1 * *", BERLIN, (2024, 8, 11, 10), (2024, 9, 1, 9)),
        ("0 9 1 * *", BERLIN, (2024, 9, 1, 8, 59), (2024, 9, 1, 9)),
        ("0 9 1 * *", BERLIN, (2024, 9, 1, 9, 0, 1), (2024, 10, 1, 9)),
        ("0 9 1 * *", BERLIN, (2024, 12, 15, 12), (2025, 1, 1, 9)),
        ("0 9 31 * *", BERLIN, (2024, 9, 1, 12), (2024, 10, 31, 9)),  # September has 30 days
        ("0 9 29 2 *", BERLIN, (2024, 3, 1, 12), (2028, 2, 29, 9)),
        ("0 9 1 jan,jul *", BERLIN, (2024, 8, 11, 10), (2025, 1, 1, 9)),
        ("15 7 * * 1", NEW_YORK, (2024, 8, 11, 10), (2024, 8, 12, 7, 15)),
        # Across DST: the wall time stays put, the UTC time moves.
        ("0 9 * * 1", BERLIN, (2024, 3, 25, 10), (2024, 4, 1, 9)),  # CET -> CEST
        ("0 9 * * 1", BERLIN, (2024, 10, 21, 10), (2024, 10, 28, 9)),  # CEST -> CET
        ("0 9 * * 0", BERLIN, (2024, 3, 30, 12), (2024, 3, 31, 9)),  # on the change day
        ("0 9 * * 0", BERLIN, (2024, 10, 26, 12), (2024, 10, 27, 9)),
        ("0 9 1 * *", NEW_YORK, (2024, 3, 1, 10), (2024, 4, 1, 9)),  # EST -> EDT
        ("0 9 1 * *", NEW_YORK, (2024, 10, 15, 12), (2024, 11, 1, 9)),  # still EDT
        ("0 9 1 * *", NEW_YORK, (2024, 11, 15, 12), (2024, 12, 1, 9)),  # EST
        ("0 9 * * 0", NEW_YORK, (2024, 3, 9, 10), (2024, 3, 10, 9)),
        ("0 9 * * 0", NEW_YORK, (2024, 11, 2, 10), (2024, 11, 3, 9)),
    ],
)
def test_the_next_fire_time_is_what_crontab_means(
    expression: str, zone: str, now: tuple[int, ...], expected: tuple[int, ...]
) -> None:
    fire = next_fire(expression, zone, local(zone, *now))

    assert fire is not None
    assert fire.astimezone(UTC) == local(zone, *expected).astimezone(UTC)
    assert fire.replace(tzinfo=None) == local(zone, *expected).replace(tzinfo=None)


@pytest.mark.parametrize(
    ("zone", "monday", "utc_hours"),
    [
        (BERLIN, date(2024, 3, 25), [8, 7, 7]),  # 09:00 CET, then CEST
        (BERLIN, date(2024, 10, 21), [7, 8, 8]),  # 09:00 CEST, then CET
        (NEW_YORK, date(2024, 3, 4), [14, 13, 13]),
        (NEW_YORK, date(2024, 10, 28), [13, 14, 14]),
    ],
)
def test_a_weekly_job_keeps_its_wall_time_across_a_dst_change(
    zone: str, monday: date, utc_hours: list[int]
) -> None:
    start = local(zone, monday.year, monday.month, monday.day)

    found = fires("0 9 * * 1", zone, start, start + timedelta(days=15))

    assert [fire.hour for fire in found] == utc_hours
    assert [fire.astimezone(ZoneInfo(zone)).hour for fire in found] == [9, 9, 9]
    assert [fire.astimezone(ZoneInfo(zone)).weekday() for fire in found] == [0, 0, 0]


@pytest.mark.parametrize(
    ("expression", "zone", "day", "expected"),
    [
        # Spring forward: 02:00-03:00 does not exist; a 02:30 job fires once, at 03:30 new time.
        ("30 2 * * *", BERLIN, (2024, 3, 31), [utc(2024, 3, 31, 1, 30)]),
        ("30 2 * * *", NEW_YORK, (2024, 3, 10), [utc(2024, 3, 10, 7, 30)]),
        ("0 2 * * *", BERLIN, (2024, 3, 31), [utc(2024, 3, 31, 1, 0)]),
        # ...but reached by rolling over, a missing time is skipped: 02:30 never fires here.
        ("*/30 2 * * *", BERLIN, (2024, 3, 31), [utc(2024, 3, 31, 1, 0)]),
        # Santiago skips midnight on 2024-09-08: a daily midnight job misses that day.
        ("0 0 * * *", "America/Santiago", (2024, 9, 8), []),
        ("30 0 * * *", "America/Santiago", (2024, 9, 8), []),
        # A fixed date reaches the hour directly and fires at the first instant of the day.
        ("0 0 8 9 *", "America/Santiago", (2024, 9, 8), [utc(2024, 9, 8, 4, 0)]),
        # Fall back: 02:00-03:00 (Berlin) or 01:00-02:00 (New York) happens twice: so do the jobs.
        (
            "30 2 * * *",
            BERLIN,
            (2024, 10, 27),
            [utc(2024, 10, 27, 0, 30), utc(2024, 10, 27, 1, 30)],
        ),
        ("30 1 * * *", NEW_YORK, (2024, 11, 3), [utc(2024, 11, 3, 5, 30), utc(2024, 11, 3, 6, 30)]),
        ("30 2 * * *", NEW_YORK, (2024, 11, 3), [utc(2024, 11, 3, 7, 30)]),  # not repeated there
        (
            "*/30 2 * * *",
            BERLIN,
            (2024, 10, 27),
            [utc(2024, 10, 27, h, m) for h in (0, 1) for m in (0, 30)],
        ),
        # A job outside the changed hour fires once as usual.
        ("0 9 * * *", BERLIN, (2024, 3, 31), [utc(2024, 3, 31, 7, 0)]),
        ("0 9 * * *", BERLIN, (2024, 10, 27), [utc(2024, 10, 27, 8, 0)]),
    ],
)
def test_what_apscheduler_does_with_wall_times_that_dst_skips_or_repeats(
    expression: str, zone: str, day: tuple[int, int, int], expected: list[datetime]
) -> None:
    """Fires during one local day (from its first instant to the next day's), asked from before."""
    start = local(zone, *day).astimezone(UTC)
    following = date(*day) + timedelta(days=1)
    end = local(zone, following.year, following.month, following.day).astimezone(UTC)

    found = fires(expression, zone, start - timedelta(days=2), end)

    assert [fire for fire in found if fire >= start] == expected


def test_a_repeated_wall_time_is_reported_in_each_of_its_two_offsets() -> None:
    first, second = fires("30 2 * * *", BERLIN, utc(2024, 10, 26, 23), utc(2024, 10, 27, 23))

    assert first.astimezone(ZoneInfo(BERLIN)).isoformat() == "2024-10-27T02:30:00+02:00"
    assert second.astimezone(ZoneInfo(BERLIN)).isoformat() == "2024-10-27T02:30:00+01:00"


def test_apscheduler_takes_a_schedule_that_never_fires_and_just_never_fires_it() -> None:
    """Why parse_cron refuses one: APScheduler accepts it and "next run" would be never."""
    theirs = CronTrigger(minute="0", hour="9", day="31", month="2", timezone=ZoneInfo(BERLIN))

    assert theirs.get_next_fire_time(None, local(BERLIN, 2024, 1, 1)) is None


# --- shorthands and schedules that never fire -------------------------------------------------


@pytest.mark.parametrize(
    ("shorthand", "crontab"),
    [
        ("@hourly", "0 * * * *"),
        ("@daily", "0 0 * * *"),
        ("@midnight", "0 0 * * *"),
        ("@weekly", "0 0 * * 0"),
        ("@monthly", "0 0 1 * *"),
        ("@yearly", "0 0 1 1 *"),
        ("@annually", "0 0 1 1 *"),
        ("@DAILY", "0 0 * * *"),
        ("  @weekly ", "0 0 * * 0"),
    ],
)
def test_a_shorthand_means_what_it_means_to_cron(shorthand: str, crontab: str) -> None:
    assert parse_cron(shorthand) == parse_cron(crontab)


@pytest.mark.parametrize(
    ("shorthand", "now", "expected"),
    [
        ("@hourly", (2024, 8, 11, 10, 1), (2024, 8, 11, 11)),
        ("@daily", (2024, 8, 11, 10), (2024, 8, 12, 0)),
        ("@weekly", (2024, 8, 12, 10), (2024, 8, 18, 0)),  # Monday -> Sunday midnight
        ("@monthly", (2024, 8, 11, 10), (2024, 9, 1, 0)),
        ("@yearly", (2024, 8, 11, 10), (2025, 1, 1, 0)),
    ],
)
def test_a_shorthand_fires_when_cron_would(
    shorthand: str, now: tuple[int, ...], expected: tuple[int, ...]
) -> None:
    assert next_fire(shorthand, BERLIN, local(BERLIN, *now)) == local(BERLIN, *expected)


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("0 9 30 2 *", "'0 9 30 2 *' never fires: February has no day 30"),
        ("0 9 31 2 *", "never fires: February has no day 31"),
        ("0 9 30,31 feb *", "never fires: February has no day 30,31"),
        ("0 9 31 4,6,9,11 *", "never fires: April, June, September and November have no day 31"),
        ("0 9 31 apr *", "never fires: April has no day 31"),
        ("0 9 30-31 2 *", "never fires: February has no day 30-31"),
    ],
)
def test_a_schedule_that_never_fires_is_refused(expression: str, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        parse_cron(expression)


@pytest.mark.parametrize(
    ("schedule", "message"),
    [
        ("0 9 30 2 *", "report 'r': schedule: '0 9 30 2 *' never fires: February has no day 30"),
        ("@fortnightly", "report 'r': schedule: unknown schedule '@fortnightly'"),
    ],
)
def test_a_report_with_such_a_schedule_is_a_config_error_naming_the_field(
    schedule: str, message: str
) -> None:
    table = {"name": "r", "schedule": schedule, "slack": ["#a"]}
    with pytest.raises(ConfigError, match=re.escape(f"reportbot.toml: {message}")):
        parse_reports({"reports": [table]}, "reportbot.toml")


@pytest.mark.parametrize(
    "expression",
    ["0 9 29 2 *", "0 9 31 1-2 *", "0 9 30 2,3 *", "0 9 28-31 2 *", "0 9 31 */2 *", "0 9 31 * *"],
)
def test_a_schedule_that_fires_in_some_month_is_accepted(expression: str) -> None:
    assert next_fire(expression, BERLIN, local(BERLIN, 2024, 1, 1)) is not None


@given(
    day=st.lists(st.integers(1, 31), min_size=1, max_size=3).map(lambda d: ",".join(map(str, d))),
    month=st.lists(st.integers(1, 12), min_size=1, max_size=3).map(lambda m: ",".join(map(str, m))),
)
def test_parse_cron_refuses_a_schedule_exactly_when_apscheduler_finds_no_fire_time(
    day: str, month: str
) -> None:
    expression = f"0 9 {day} {month} *"
    try:
        parse_cron(expression)
    except ValueError:
        accepted = False
    else:
        accepted = True
    fields = {"minute": "0", "hour": "9", "day": day, "month": month}
    fire = CronTrigger(**fields, timezone=ZoneInfo("UTC")).get_next_fire_time(
        None, datetime(2024, 1, 1, tzinfo=UTC)
    )

    assert accepted == (fire is not None)


# --- describe --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "words"),
    [
        ("0 9 * * 1", "Mondays at 09:00"),
        ("0 9 * * 0", "Sundays at 09:00"),
        ("0 9 * * 7", "Sundays at 09:00"),
        ("30 7 * * 1-5", "weekdays at 07:30"),
        ("30 7 * * mon-fri", "weekdays at 07:30"),
        ("0 10 * * sat,sun", "weekends at 10:00"),
        ("0 10 * * 6,0", "weekends at 10:00"),
        ("0 9 * * 1,3,5", "Mondays, Wednesdays and Fridays at 09:00"),
        ("0 9 * * 1-4", "Mondays to Thursdays at 09:00"),
        ("0 9 * * 5,1", "Mondays and Fridays at 09:00"),
        ("0 9 * * 0-6", "every day at 09:00"),
        ("5 18 * * *", "every day at 18:05"),
        ("0 0 * * *", "every day at 00:00"),
        ("0 9,17 * * *", "every day at 09:00 and 17:00"),
        ("0,30 9 * * 1", "Mondays at 09:00 and 09:30"),
        ("0 9 1 * *", "on the 1st of every month at 09:00"),
        ("0 9 15 * *", "on the 15th of every month at 09:00"),
        ("0 9 2,3,22,23 * *", "on the 2nd, 3rd, 22nd and 23rd of every month at 09:00"),
        ("0 9 11,12,13 * *", "on the 11th, 12th and 13th of every month at 09:00"),
        ("0 9 1-7 * *", "on the 1st to 7th of every month at 09:00"),
        ("0 9 */2 * *", "on days */2 of every month at 09:00"),
        ("0 9 1 1 *", "on January 1 at 09:00"),
        ("0 9 1 jan *", "on January 1 at 09:00"),
        ("0 9 29 2 *", "on February 29 (leap years only) at 09:00"),
        ("0 9 1 jan,jul *", "on the 1st of January and July at 09:00"),
        ("0 9 1 */3 *", "on the 1st of January, April, July and October at 09:00"),
        ("0 9 * 12 *", "every day in December at 09:00"),
        ("0 9 * 12 1", "Mondays in December at 09:00"),
        ("0 * * * *", "every hour"),
        ("15 * * * *", "every hour at :15"),
        ("0 */6 * * *", "every 6 hours"),
        ("30 */6 * * *", "every 6 hours at :30"),
        ("0 3/6 * * *", "every 6 hours from 03:00 to 21:00"),
        ("0 9-17 * * *", "every hour from 09:00 to 17:00"),
        ("0 9-17 * * 1-5", "every hour from 09:00 to 17:00 on weekdays"),
        ("0 */2 1 * *", "every 2 hours on the 1st of every month"),
        ("* * * * *", "every minute"),
        ("*/15 * * * *", "every 15 minutes"),
        ("*/15 9-17 * * *", "every 15 minutes from 09:00 to 17:45"),
        ("*/7 * * * *", "minute */7, hour *"),  # 0, 7, ... 56, then 0 again: not "every 7"
        ("@hourly", "every hour"),
        ("@daily", "every day at 00:00"),
        ("@weekly", "Sundays at 00:00"),
        ("@monthly", "on the 1st of every month at 00:00"),
    ],
)
def test_describe_puts_a_schedule_into_words(expression: str, words: str) -> None:
    assert describe(parse_cron(expression)) == words


@pytest.mark.parametrize(
    ("period", "words"),
    [
        ("week", "Mondays at 09:00"),
        ("month", "on the 1st of every month at 09:00"),
        ("day", "every day at 09:00"),
    ],
)
def test_the_default_schedules_read_as_intended(period: str, words: str) -> None:
    assert describe(parse_cron(DEFAULT_SCHEDULES[period])) == words
