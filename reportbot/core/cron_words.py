"""A parsed crontab in words, for ``reportbot list`` and the scheduler's log: pure.

    0 9 * * 1       Mondays at 09:00
    30 7 * * 1-5    weekdays at 07:30
    0 9,17 * * *    every day at 09:00 and 17:00
    0 */6 * * *     every 6 hours
    */15 9-17 * * * every 15 minutes from 09:00 to 17:45
    0 9 1 * *       on the 1st of every month at 09:00
    0 9 1 1 *       on January 1 at 09:00

What has no short wording falls back to the fields, labelled, so nothing is ever guessed.
"""

from __future__ import annotations

from itertools import pairwise

from reportbot.core.cron import MONTH_WORDS, Cron, expand

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")  # the order people read them in
DAY_WORDS = dict(
    zip(
        WEEKDAYS,
        ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
        strict=True,
    )
)
FIXED_TIMES = 4  # more run times than this read better as "every ..."


def describe(cron: Cron) -> str:
    days = _days(cron)
    fixed = _fixed_times(cron)
    if fixed is not None:
        return f"{days or 'every day'} at {fixed}"
    repeating = _repeating(cron)
    if repeating is None:
        return f"minute {cron.minute}, hour {cron.hour}{f', {days}' if days else ''}"
    if days is None:
        return repeating
    return f"{repeating} {days if days.startswith('on ') else 'on ' + days}"


def and_list(words: list[str]) -> str:
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} and {words[-1]}"


def ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _fixed_times(cron: Cron) -> str | None:
    """``09:00 and 17:00`` when the fields list a few exact times, else None."""
    if not _plain(cron.minute) or not _plain(cron.hour):
        return None
    minutes, hours = sorted(expand(cron.minute, 0, 59)), sorted(expand(cron.hour, 0, 23))
    if len(minutes) * len(hours) > FIXED_TIMES:
        return None
    return and_list([f"{h:02d}:{m:02d}" for h in hours for m in minutes])


def _plain(field: str) -> bool:
    """Numbers and commas only: no ``*``, range or step."""
    return all(item.isdigit() for item in field.split(","))


def _repeating(cron: Cron) -> str | None:
    minutes, hours = sorted(expand(cron.minute, 0, 59)), sorted(expand(cron.hour, 0, 23))
    if len(minutes) == 1:
        at = "" if minutes[0] == 0 else f" at :{minutes[0]:02d}"
        if len(hours) == 24:
            return f"every hour{at}"
        step = _step(hours)
        if step is None:
            return None
        every = "every hour" if step == 1 else f"every {step} hours"
        if hours[0] == 0 and hours[-1] + step >= 24:
            return every + at
        return f"{every} from {hours[0]:02d}:{minutes[0]:02d} to {hours[-1]:02d}:{minutes[0]:02d}"
    step = _step(minutes)
    if step is None or minutes[0] + 60 - minutes[-1] != step or _step(hours) != 1:
        return None
    every = "every minute" if step == 1 else f"every {step} minutes"
    if len(hours) == 24:
        return every
    return f"{every} from {hours[0]:02d}:{minutes[0]:02d} to {hours[-1]:02d}:{minutes[-1]:02d}"


def _step(values: list[int]) -> int | None:
    """The common difference of an evenly spaced list (1 for a single value), else None."""
    gaps = {b - a for a, b in pairwise(values)}
    return 1 if not gaps else gaps.pop() if len(gaps) == 1 else None


def _days(cron: Cron) -> str | None:
    """Which days, as words; None for every day."""
    if cron.day_of_week != "*":
        return _weekdays(cron.day_of_week.split(","), _months(cron))
    months = _months(cron)
    if cron.day == "*":
        return None if months is None else f"every day in {months}"
    days = sorted(expand(cron.day, 1, 31))
    if months is not None and len(days) == 1 and len(expand(cron.month, 1, 12)) == 1:
        note = " (leap years only)" if (days[0], cron.month) == (29, "2") else ""
        return f"on {months} {days[0]}{note}"
    which = _day_list(days)
    return f"on {f'the {which}' if which else f'days {cron.day}'} of {months or 'every month'}"


def _weekdays(names: list[str], months: str | None) -> str:
    chosen = [d for d in WEEKDAYS if d in names]
    if len(chosen) == 7:
        words = "every day"
    elif chosen == list(WEEKDAYS[:5]):
        words = "weekdays"
    elif chosen == ["sat", "sun"]:
        words = "weekends"
    elif (
        len(chosen) >= 3
        and WEEKDAYS.index(chosen[-1]) - WEEKDAYS.index(chosen[0]) == len(chosen) - 1
    ):
        words = f"{DAY_WORDS[chosen[0]]}s to {DAY_WORDS[chosen[-1]]}s"
    else:
        words = and_list([f"{DAY_WORDS[d]}s" for d in chosen])
    return words if months is None else f"{words} in {months}"


def _day_list(days: list[int]) -> str | None:
    if len(days) <= FIXED_TIMES:
        return and_list([ordinal(d) for d in days])
    if _step(days) == 1:
        return f"{ordinal(days[0])} to {ordinal(days[-1])}"
    return None


def _months(cron: Cron) -> str | None:
    months = sorted(expand(cron.month, 1, 12))
    return None if len(months) == 12 else and_list([MONTH_WORDS[m - 1] for m in months])
