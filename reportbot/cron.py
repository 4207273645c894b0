"""Standard five-field crontab, checked and translated for APScheduler: pure, no imports of it.

APScheduler numbers weekdays from Monday = 0, crontab from Sunday = 0 (and 7), so
``CronTrigger.from_crontab("0 9 * * 1")`` fires on Tuesdays. We translate weekday numbers
to names, which mean the same in both.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

DAY_NAMES = ("sun", "mon", "tue", "wed", "thu", "fri", "sat", "sun")
MONTH_NAMES = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
DEFAULT_SCHEDULES = {"week": "0 9 * * 1", "month": "0 9 1 * *", "day": "0 9 * * *"}

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
    """Parse ``m h dom mon dow``; raise ValueError with a message fit for a config error."""
    parts = expression.split()
    if len(parts) != 5:
        raise ValueError(f"{expression!r} is not a crontab: it needs 5 fields (m h dom mon dow)")
    fields = [_check_field(part.lower(), *spec) for part, spec in zip(parts, _FIELDS, strict=True)]
    if fields[2] != "*" and fields[4] != "*":
        raise ValueError(
            f"{expression!r} sets both day-of-month and day-of-week, which crontab ORs "
            "together; use two reports or one of the two fields"
        )
    fields[4] = ",".join(_weekday_item(item) for item in fields[4].split(","))
    return Cron(*fields)


def _check_field(value: str, name: str, low: int, high: int) -> str:
    for item in value.split(","):
        match = _ITEM.match(item)
        if not match:
            raise ValueError(f"bad {name} field {value!r}")
        if match[1] != "*":
            for bound in match[1].split("-"):
                _check_value(bound, name, low, high)
        if match[2] is not None and int(match[2]) == 0:
            raise ValueError(f"bad {name} field {value!r}: a step of 0")
    return value


def _check_value(value: str, name: str, low: int, high: int) -> None:
    names = DAY_NAMES if name == "day_of_week" else MONTH_NAMES if name == "month" else ()
    if value in names:
        return
    if not value.isdigit() or not low <= int(value) <= high:
        raise ValueError(f"bad {name} value {value!r}: expected {low}-{high}")


def _weekday_item(item: str) -> str:
    """Crontab weekdays to names: ``1`` -> ``mon``, ``0-6`` -> ``sun,mon,...,sat``.

    Ranges are spelled out because APScheduler's weeks start on Monday: its ``sun-wed``
    would not mean crontab's ``0-3``.
    """
    head, _, step = item.partition("/")
    if item == "*":
        return item
    spelled = "0-6" if head == "*" else head
    bounds = [_weekday_number(b, is_end=i == 1) for i, b in enumerate(spelled.split("-"))]
    high = 6 if step and len(bounds) == 1 else bounds[-1]
    days = range(bounds[0], high + 1, int(step or 1))
    return ",".join(dict.fromkeys(DAY_NAMES[n] for n in days))


def _weekday_number(value: str, *, is_end: bool) -> int:
    if value.isdigit():
        return int(value)
    number = DAY_NAMES.index(value)
    return 7 if is_end and number == 0 else number


def describe(cron: Cron) -> str:
    """A crontab in words, for ``reportbot list``; falls back to the fields."""
    if not (cron.hour.isdigit() and cron.minute.isdigit()):
        return f"cron {cron.minute} {cron.hour} {cron.day} {cron.month} {cron.day_of_week}"
    time = f"{cron.hour.zfill(2)}:{cron.minute.zfill(2)}"
    if cron.day == "*" and cron.month == "*":
        if cron.day_of_week == "*":
            return f"every day at {time}"
        return f"every {cron.day_of_week} at {time}"
    if cron.month == "*" and cron.day_of_week == "*" and cron.day.isdigit():
        return f"monthly on day {cron.day} at {time}"
    return f"at {time} on day {cron.day}, month {cron.month}, weekday {cron.day_of_week}"
