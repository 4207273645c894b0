"""A crontab's next fire time, worked out without APScheduler where that is exact.

While a zone's UTC offset stays the same, its wall clock and elapsed time agree: every wall
time happens exactly once, so the next fire time is simply the first wall time on or after
``now`` that the crontab names. That is what APScheduler's ``CronTrigger`` answers there
too (tests/test_next_fire.py checks it against the trigger across zones, schedules and
moments). Where the offset changes first (a DST change, a zone moving), the trigger has
rules of its own (see tests/test_cron.py), so this answers None and the caller asks it.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta, tzinfo
from itertools import product

from reportbot.core.cron import DAY_NAMES, Cron, expand

SEARCH_DAYS = 8 * 366 + 2  # February 29 comes round within 8 years (2096 -> 2104)


def plain_next_fire(cron: Cron, zone: tzinfo, now: datetime) -> datetime | None:
    """The first fire time at or after ``now``, in ``zone``; None when the zone's UTC offset
    changes on a day from today's to the fire time's (or it is over SEARCH_DAYS away)."""
    local = now.astimezone(zone)
    offset, wall_now = local.utcoffset(), local.replace(tzinfo=None)
    days, months = expand(cron.day, 1, 31), expand(cron.month, 1, 12)
    weekdays = _weekdays(cron.day_of_week)
    hours, minutes = sorted(expand(cron.hour, 0, 23)), sorted(expand(cron.minute, 0, 59))
    times = [time(h, m) for h, m in product(hours, minutes)]
    day = local.date()
    if datetime.combine(day, time.min, tzinfo=zone).utcoffset() != offset:
        return None  # it changed earlier today: a wall time to come may have happened already
    for _ in range(SEARCH_DAYS):
        if datetime.combine(day, time.max, tzinfo=zone).utcoffset() != offset:
            return None  # the offset changes by the end of this day (one change a day at most)
        if day.month in months and day.day in days and day.weekday() in weekdays:
            for at in times:
                wall = datetime.combine(day, at)
                if wall >= wall_now:
                    return wall.replace(tzinfo=zone)
        day += timedelta(days=1)
    return None


def _weekdays(field: str) -> set[int]:
    """Python's weekday numbers (Monday = 0) for ``*`` or the names parse_cron writes."""
    if field == "*":
        return set(range(7))
    return {(DAY_NAMES.index(name) - 1) % 7 for name in field.split(",")}
