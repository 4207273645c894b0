"""Report periods as pure date arithmetic: no clock, no I/O.

A period is a run of whole local days ``start..end`` (inclusive) in the report's time zone.
An explicit period lies within ``EARLIEST..LATEST`` and a custom range is at most
``MAX_RANGE_DAYS`` long, so that the period it is compared with, its UTC bounds and its daily
series all exist and stay small; anything else is bad usage (a ConfigError), not a crash.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal, Protocol
from zoneinfo import ZoneInfo

from reportbot.errors import ConfigError

Kind = Literal["week", "month", "day", "range"]
KINDS: tuple[str, ...] = ("week", "month", "day")

_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
EARLIEST = date(1970, 1, 1)
LATEST = date(9998, 12, 31)
MAX_RANGE_DAYS = 3660  # ten years of daily figures
_RANGE = re.compile(r"^(\d{4}-\d{2}-\d{2})\.\.(\d{4}-\d{2}-\d{2})$")


@dataclass(frozen=True, slots=True)
class Period:
    kind: Kind
    start: date
    end: date  # inclusive

    @property
    def key(self) -> str:
        """Stable identifier, also the accepted ``--period`` spelling."""
        if self.kind == "week":
            year, week, _ = self.start.isocalendar()
            return f"{year:04d}-W{week:02d}"
        if self.kind == "month":
            return f"{self.start.year:04d}-{self.start.month:02d}"
        if self.kind == "day":
            return self.start.isoformat()
        return f"{self.start.isoformat()}..{self.end.isoformat()}"

    @property
    def label(self) -> str:
        """How people name the period: 'week 33, 2024 (Aug 12–18)', 'August 2024'."""
        if self.kind == "week":
            year, week, _ = self.start.isocalendar()
            return f"week {week}, {year} ({_short(self.start)} – {_short(self.end)})"
        if self.kind == "month":
            return f"{self.start:%B %Y}"
        if self.kind == "day":
            return f"{self.start:%a %d %b %Y}"
        return f"{self.start.isoformat()} – {self.end.isoformat()}"

    @property
    def short_label(self) -> str:
        """The comparison name: 'July', 'W32', 'Aug 14'."""
        if self.kind == "week":
            return f"W{self.start.isocalendar()[1]:02d}"
        if self.kind == "month":
            return f"{self.start:%B}"
        if self.kind == "day":
            return _short(self.start)
        return f"{_short(self.start)} – {_short(self.end)}"

    @property
    def length(self) -> int:
        return (self.end - self.start).days + 1

    def days(self) -> list[date]:
        return [self.start + timedelta(days=i) for i in range(self.length)]

    def previous(self) -> Period:
        """The period this one is compared with."""
        if self.kind == "week":
            return Period("week", self.start - timedelta(days=7), self.start - timedelta(days=1))
        if self.kind == "month":
            return month_period(*_month_before(self.start.year, self.start.month))
        return Period(
            self.kind, self.start - timedelta(days=self.length), self.start - timedelta(days=1)
        )


def _short(day: date) -> str:
    return f"{day:%b} {day.day}"


def _month_before(year: int, month: int) -> tuple[int, int]:
    return (year - 1, 12) if month == 1 else (year, month - 1)


def month_period(year: int, month: int) -> Period:
    start = date(year, month, 1)
    nxt = date(year + 1, 1, 1) if month == 12 else date(year, month + 1, 1)
    return Period("month", start, nxt - timedelta(days=1))


def iso_week_period(year: int, week: int) -> Period:
    start = date.fromisocalendar(year, week, 1)
    return Period("week", start, start + timedelta(days=6))


def latest_complete(kind: str, today: date) -> Period:
    """The most recent whole period of ``kind`` that ended before ``today`` (a local date)."""
    if kind == "week":
        this_monday = today - timedelta(days=today.weekday())
        return Period("week", this_monday - timedelta(days=7), this_monday - timedelta(days=1))
    if kind == "month":
        return month_period(*_month_before(today.year, today.month))
    if kind == "day":
        yesterday = today - timedelta(days=1)
        return Period("day", yesterday, yesterday)
    raise ConfigError(f"unknown period kind {kind!r}: use week, month or day")


def parse_period(spec: str, today: date) -> Period:
    """``week``/``month``/``day`` (the latest complete one) or an explicit period."""
    spec = spec.strip()
    if spec in KINDS:
        return latest_complete(spec, today)
    return _within_limits(_explicit(spec), spec)


def _within_limits(period: Period, spec: str) -> Period:
    if period.start < EARLIEST or period.end > LATEST:
        raise ConfigError(
            f"bad period {spec!r}: reportbot reports on days from {EARLIEST} to {LATEST}"
        )
    if period.length > MAX_RANGE_DAYS:
        raise ConfigError(
            f"bad period {spec!r}: a range is at most {MAX_RANGE_DAYS:,} days long "
            f"(this one has {period.length:,})"
        )
    return period


def _explicit(spec: str) -> Period:
    try:
        if m := _WEEK.match(spec):
            return iso_week_period(int(m[1]), int(m[2]))
        if m := _MONTH.match(spec):
            return month_period(int(m[1]), int(m[2]))
        if _DAY.match(spec):
            day = date.fromisoformat(spec)
            return Period("day", day, day)
        if m := _RANGE.match(spec):
            start, end = date.fromisoformat(m[1]), date.fromisoformat(m[2])
            if end < start:
                raise ValueError("the range ends before it starts")
            return Period("range", start, end)
    except (ValueError, OverflowError) as exc:
        raise ConfigError(f"bad period {spec!r}: {exc}") from None
    raise ConfigError(
        f"bad period {spec!r}: use week, month, day, 2024-W33, 2024-08, 2024-08-15 "
        "or 2024-08-01..2024-08-14"
    )


def utc_bounds(start: date, end: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """First instant of ``start`` and last second of ``end``, local days in ``zone``, as UTC."""
    first = local_midnight_utc(start, zone)
    last = local_midnight_utc(end + timedelta(days=1), zone) - timedelta(seconds=1)
    return first, last


def local_midnight_utc(day: date, zone: ZoneInfo) -> datetime:
    """The first instant of a local day in UTC, even where midnight itself is skipped by DST."""
    naive = datetime.combine(day, time())
    # fold=0 on a skipped wall time resolves with the offset before the gap: the gap's start.
    return naive.replace(tzinfo=zone).astimezone(UTC)


def iso_z(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class _HasPeriod(Protocol):
    @property
    def period(self) -> str: ...

    @property
    def zone(self) -> ZoneInfo: ...


def resolve_period(report: _HasPeriod, spec: str | None, now: datetime) -> Period:
    """The period a report is about: ``spec`` if given, else its latest complete one."""
    today = now.astimezone(report.zone).date()
    return parse_period(spec or report.period, today)
