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

from reportbot.core.cron import DAY_NAMES, DEFAULT_SCHEDULES, Cron, describe, parse_cron

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
        ("@weekly", "needs 5 fields"),
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


def test_a_schedule_that_can_never_fire_has_no_next_fire_time() -> None:
    assert next_fire("0 9 31 2 *", BERLIN, local(BERLIN, 2024, 1, 1)) is None


# --- describe --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "words"),
    [
        ("0 9 * * 1", "every mon at 09:00"),
        ("0 9 * * 0", "every sun at 09:00"),
        ("0 9 * * 7", "every sun at 09:00"),
        ("30 7 * * 1-5", "every mon,tue,wed,thu,fri at 07:30"),
        ("5 18 * * *", "every day at 18:05"),
        ("0 0 * * *", "every day at 00:00"),
        ("0 9 1 * *", "monthly on day 1 at 09:00"),
        ("0 9 15 * *", "monthly on day 15 at 09:00"),
        ("0 9 1 1 *", "at 09:00 on day 1, month 1, weekday *"),
        ("0 9 1 jan *", "at 09:00 on day 1, month 1, weekday *"),
        ("0 9 1,15 * *", "at 09:00 on day 1,15, month *, weekday *"),
        ("*/15 9 * * *", "cron */15 9 * * *"),
        ("0 9-17 * * 1", "cron 0 9-17 * * mon"),
    ],
)
def test_describe_puts_a_schedule_into_words(expression: str, words: str) -> None:
    assert describe(parse_cron(expression)) == words


@pytest.mark.parametrize(
    ("period", "words"),
    [
        ("week", "every mon at 09:00"),
        ("month", "monthly on day 1 at 09:00"),
        ("day", "every day at 09:00"),
    ],
)
def test_the_default_schedules_read_as_intended(period: str, words: str) -> None:
    assert describe(parse_cron(DEFAULT_SCHEDULES[period])) == words
