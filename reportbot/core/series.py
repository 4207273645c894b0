"""Daily series from usage rows, and the robust statistics the insights use: pure, exact."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date, timedelta
from decimal import Decimal

from reportbot.core.usage import UsageRow

ZERO = Decimal(0)
TWO = Decimal(2)

Daily = Mapping[date, Decimal]


def daily_totals(rows: Iterable[UsageRow], start: date, end: date) -> dict[date, Decimal]:
    """Credits per local day ``start..end``, every day present (a day with no rows is 0)."""
    totals = {start + timedelta(days=i): ZERO for i in range((end - start).days + 1)}
    for day, _, amount in rows:
        if day in totals:
            totals[day] += amount
    return totals


def median(values: Sequence[Decimal]) -> Decimal:
    """The middle value; for an even count, the mean of the two middle ones (exact)."""
    if not values:
        raise ValueError("the median of nothing")
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) / TWO


def mad(values: Sequence[Decimal], centre: Decimal | None = None) -> Decimal:
    """Median absolute deviation from ``centre`` (default: the median of ``values``)."""
    centre = median(values) if centre is None else centre
    return median([abs(value - centre) for value in values])


def same_weekday_before(day: date, weeks: int, since: date) -> list[date]:
    """``day - 7``, ``day - 14``, … (at most ``weeks`` of them), none before ``since``."""
    earlier = (day - timedelta(days=7 * n) for n in range(1, weeks + 1))
    return [d for d in earlier if d >= since]
