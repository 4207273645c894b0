"""Standard five-field crontab, checked and translated for APScheduler: pure, no imports of it.

APScheduler numbers weekdays from Monday = 0, crontab from Sunday = 0 (and 7), so
``CronTrigger.from_crontab("0 9 * * 1")`` fires on Tuesdays. We translate weekday numbers
to names, which mean the same in both.

The crontab shorthands ``@hourly``, ``@daily``, ``@weekly``, ``@monthly`` and ``@yearly``
mean what they mean to cron (midnight, Sunday, the 1st). A schedule that can never fire
(``0 9 30 2 *``: February has no 30th) is refused, as is one that sets both day fields.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

DAY_NAMES = ("sun", "mon", "tue", "wed", "thu", "fri", "sat", "sun")
MONTH_NAMES = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
DEFAULT_SCHEDULES = {"week": "0 9 * * 1", "month": "0 9 1 * *", "day": "0 9 * * *"}
ALIASES = {
    "@hourly": "0 * * * *",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@weekly": "0 0 * * 0",
    "@monthly": "0 0 1 * *",
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
}
MONTH_WORDS = (
    *("January", "February", "March", "April", "May", "June", "July"),
    *("August", "September", "October", "November", "December"),
)
DAYS_IN_MONTH = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)  # February 29 fires in leap years

_FIELDS = (
    ("minute", 0, 59),
    ("hour", 0, 23),
    ("day", 1, 31),
    ("month", 1, 12),
    ("day_of_week", 0, 7),
)
_ITEM = re.compile(r"^(\*|[a-z0-9]+(?:-[a-z0-9]+)?)(?:/(\d+))?$")


@dataclass(frozen=True, slots=True)
class Cron:
    minute: str
    hour: str
    day: str
    month: str
    day_of_week: str

    def trigger_fields(self) -> dict[str, str]:
        """Keyword arguments for ``apscheduler.triggers.cron.CronTrigger``."""
        return {
            "minute": self.minute,
            "hour": self.hour,
            "day": self.day,
            "month": self.month,
            "day_of_week": self.day_of_week,
        }


def parse_cron(expression: str) -> Cron:
    """Parse ``m h dom mon dow`` or an ``@`` shorthand; ValueError with a config-error message."""
    shorthand = expression.strip().lower()
    if shorthand.startswith("@"):
        if shorthand not in ALIASES:
            known = ", ".join(a for a in ALIASES if a not in ("@midnight", "@annually"))
            raise ValueError(f"unknown schedule {expression.strip()!r} (use {known} or a crontab)")
        return parse_cron(ALIASES[shorthand])
    parts = expression.split()
    if len(parts) != 5:
        raise ValueError(f"{expression!r} is not a crontab: it needs 5 fields (m h dom mon dow)")
    fields = [_check_field(part.lower(), *spec) for part, spec in zip(parts, _FIELDS, strict=True)]
    if fields[2] != "*" and fields[4] != "*":
        raise ValueError(
            f"{expression!r} sets both day-of-month and day-of-week, which crontab ORs "
            "together; use two reports or one of the two fields"
        )
    fields[3] = re.sub("[a-z]+", lambda m: str(MONTH_NAMES.index(m[0]) + 1), fields[3])
    days = (day for item in fields[4].split(",") for day in _weekday_item(item).split(","))
    fields[4] = ",".join(dict.fromkeys(days))  # "0,7" is one Sunday
    _check_it_fires(expression, fields[2], fields[3])
    return Cron(*fields)


def expand(field: str, low: int, high: int) -> set[int]:
    """The numbers a numeric field (``*``, ``a``, ``a-b``, ``*/n``, ``a/n``, lists) stands for."""
    values: set[int] = set()
    for item in field.split(","):
        head, _, step = item.partition("/")
        first, _, last = head.partition("-")
        start = low if first == "*" else int(first)
        end = int(last) if last else high if (first == "*" or step) else start
        values.update(range(start, end + 1, int(step or 1)))
    return values


def _check_it_fires(expression: str, day: str, month: str) -> None:
    """Refuse day-of-month and month fields that no calendar date satisfies."""
    if day == "*":
        return
    days, months = expand(day, 1, 31), expand(month, 1, 12)
    if any(d <= DAYS_IN_MONTH[m - 1] for d in days for m in months):
        return
    names = [MONTH_WORDS[m - 1] for m in sorted(months)]
    which = names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"
    have = "has" if len(names) == 1 else "have"
    raise ValueError(
        f"{expression.strip()!r} never fires: {which} {have} no day {day}; "
        f"pick a day that {which} {have}"
    )


def _check_field(value: str, name: str, low: int, high: int) -> str:
    """Reject what crontab or APScheduler would: out of range, reversed, a step too long."""
    for item in value.split(","):
        match = _ITEM.match(item)
        if not match:
            raise ValueError(f"bad {name} field {value!r}")
        bounds = (
            [] if match[1] == "*" else [_value(b, name, low, high) for b in match[1].split("-")]
        )
        step = None if match[2] is None else int(match[2])
        if step == 0:
            raise ValueError(f"bad {name} field {value!r}: a step of 0")
        if name == "day_of_week":  # ranges checked where they are spelled out
            continue
        first, last = (bounds[0] if bounds else low), (bounds[-1] if len(bounds) == 2 else high)
        if len(bounds) == 2 and first > last:
            raise ValueError(f"bad {name} field {value!r}: {match[1]} ends before it starts")
        if step is not None and step > last - first:
            raise ValueError(
                f"bad {name} field {value!r}: a step of {step} is longer than "
                f"the range {first}-{last} it steps through"
            )
    return value


def _value(value: str, name: str, low: int, high: int) -> int:
    if name == "day_of_week" and value in DAY_NAMES:
        return DAY_NAMES.index(value)
    if name == "month" and value in MONTH_NAMES:
        return MONTH_NAMES.index(value) + 1
    if not value.isdigit() or not low <= int(value) <= high:
        raise ValueError(f"bad {name} value {value!r}: expected {low}-{high}")
    return int(value)


def _weekday_item(item: str) -> str:
    """Crontab weekdays to names: ``1`` -> ``mon``, ``0-6`` -> ``sun,mon,...,sat``.

    Ranges are spelled out because APScheduler's weeks start on Monday: its ``sun-wed``
    would not mean crontab's ``0-3``.
    """
    head, _, step = item.partition("/")
    if item == "*":
        return item
    first, _, last = ("0-6" if head == "*" else head).partition("-")
    low = _weekday_number(first, after=None)
    high = _weekday_number(last, after=low) if last else max(6, low) if step else low
    if high < low:
        raise ValueError(f"bad day_of_week field {item!r}: {head} ends before it starts")
    days = range(low, high + 1, int(step or 1))
    return ",".join(dict.fromkeys(DAY_NAMES[n] for n in days))


def _weekday_number(value: str, *, after: int | None) -> int:
    if value.isdigit():
        return int(value)
    number = DAY_NAMES.index(value)
    # "fri-sun" ends on crontab's 7; "sun-sun" is still just Sunday.
    return 7 if number == 0 and after else number


def describe(cron: Cron) -> str:
    """A crontab in words, for ``reportbot list``: ``Mondays at 09:00``, ``every 6 hours``."""
    from reportbot.core.cron_words import describe as in_words

    return in_words(cron)
