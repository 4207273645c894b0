"""Days whose spend departs from the usual level of the same weekday: pure, exact.

For a day ``d`` and one series (the account's total, or one API), the history is the spend
on ``d - 7``, ``d - 14``, … ``d - 7·weeks`` (days without rows count as 0; days before the
fetched history are not used). With at least ``min_weeks`` of them::

    usual  = median(history)
    spread = MAD(history) × 1.4826            (the MAD scaled to a standard deviation)
    floor  = max(floor_share × usual, floor_credits)
    anomalous when |spend − usual| > k × max(spread, floor)

The floor keeps a flat series (MAD 0) from flagging noise. Per API a day counts only when the
API spent something that day and its usual level is above 0 (new and stopped APIs are listed
as such elsewhere). Only complete days (before ``today``) are checked.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal, localcontext

from reportbot.core.period_sums import cell_grid
from reportbot.core.series import ZERO, Daily, mad, median
from reportbot.core.series import same_weekday_before as history_days
from reportbot.core.usage import UsageRow, UsageRows

EXACT_DIGITS = 80
MAD_TO_SIGMA = Decimal("1.4826")


@dataclass(frozen=True, slots=True)
class AnomalyRule:
    weeks: int = 8
    k: Decimal = Decimal("3.5")
    min_weeks: int = 3
    floor_share: Decimal = Decimal("0.15")
    floor_credits: Decimal = Decimal(1)


@dataclass(frozen=True, slots=True)
class Anomaly:
    day: date
    api_id: str | None  # None: the account's total
    name: str  # the API's name; "" for the total
    amount: Decimal
    usual: Decimal  # median of the same weekday
    spread: Decimal  # MAD × 1.4826
    threshold: Decimal  # k × max(spread, floor): the departure that had to be exceeded
    weeks: int  # how many same-weekday values the history had

    @property
    def ratio(self) -> Decimal | None:
        """The spend as a multiple of the usual level; None when the usual level is 0."""
        return None if self.usual == 0 else self.amount / self.usual

    @property
    def departure(self) -> Decimal:
        return self.amount - self.usual

    @property
    def is_spike(self) -> bool:
        return self.amount > self.usual


def check_day(
    series: Daily, day: date, *, since: date, rule: AnomalyRule
) -> tuple[Decimal, Decimal, Decimal, int] | None:
    """(usual, spread, threshold, weeks) when ``day`` departs from its weekday; else None."""
    history = [series.get(d, ZERO) for d in history_days(day, rule.weeks, since)]
    with localcontext(prec=EXACT_DIGITS):
        return _departure(series.get(day, ZERO), history, rule)


def _departure(
    amount: Decimal, history: list[Decimal], rule: AnomalyRule
) -> tuple[Decimal, Decimal, Decimal, int] | None:
    if len(history) < rule.min_weeks:
        return None
    usual = median(history)
    floor = max(rule.floor_share * usual, rule.floor_credits)
    departure = abs(amount - usual)
    if departure <= rule.k * floor:  # within the floor: no need for the spread
        return None
    spread = mad(history, usual) * MAD_TO_SIGMA
    threshold = rule.k * max(spread, floor)
    return (usual, spread, threshold, len(history)) if departure > threshold else None


def find_anomalies(
    rows: Iterable[UsageRow],
    days: Sequence[date],
    names: Mapping[str, str],
    *,
    since: date,
    today: date,
    rule: AnomalyRule | None = None,
) -> tuple[Anomaly, ...]:
    """Anomalous days among ``days`` (complete ones only), in total and per API.

    ``rows`` must cover ``since`` up to the last of ``days``; ordered by day, the total first,
    then the APIs by the size of their departure.
    """
    checked = [d for d in days if since <= d < today]
    if not checked:
        return ()
    grid = daily_grid(rows, since, checked[-1])
    return anomalies_in(grid, checked, names, rule=rule)


@dataclass(frozen=True, slots=True)
class Grid:
    """``totals[i]`` and ``per_api[id][i]``: the spend of ``since + i`` days, ``since..last``."""

    since: date
    totals: list[Decimal]
    per_api: dict[str, list[Decimal]]


def daily_grid(rows: Iterable[UsageRow], since: date, last: date, *, per_api: bool = True) -> Grid:
    """Each day's and each (API, day)'s ``0 + a + b + …`` in row order, in the context.

    A cell's first row is kept as it is when ``0 + a`` writes it the same way (see
    reportbot.core.period_sums): a million one-row cells need no Decimal of their own.
    Without ``per_api``, only the days' totals.
    """
    span = (last - since).days + 1
    totals = [ZERO] * span
    index_of = {since + timedelta(days=i): i for i in range(span)}
    rows = UsageRows.of(rows)
    if not per_api:
        slots = [index_of.get(day) for day in rows.days]
        for d, amount in zip(rows.day_at, rows.amounts, strict=True):
            if (index := slots[d]) is not None:
                totals[index] += amount
        return Grid(since, totals, {})
    per_api_cells = cell_grid(rows, index_of, span, totals)  # adds each row to totals too
    return Grid(since, totals, per_api_cells)


def anomalies_in(
    grid: Grid,
    checked: Sequence[date],
    names: Mapping[str, str],
    *,
    rule: AnomalyRule | None = None,
) -> tuple[Anomaly, ...]:
    """find_anomalies on a grid that covers ``grid.since`` up to the last checked day."""
    rule = rule or AnomalyRule()
    since = grid.since
    found: list[Anomaly] = []
    with localcontext(prec=EXACT_DIGITS):
        found += _scan(grid.totals, None, "", checked, since, rule, per_api=False)
        for api_id, values in grid.per_api.items():
            found += _scan(values, api_id, names.get(api_id) or api_id, checked, since, rule)
    found.sort(key=lambda a: (a.day, a.api_id is not None, -abs(a.departure), a.name))
    return tuple(found)


def _scan(
    values: list[Decimal],
    api_id: str | None,
    name: str,
    days: Sequence[date],
    since: date,
    rule: AnomalyRule,
    *,
    per_api: bool = True,
) -> Iterable[Anomaly]:
    """``values[i]`` is the spend of ``since + i`` days."""
    for day in days:
        index = (day - since).days
        amount = values[index]
        if per_api and amount <= 0:
            continue
        history = [values[j] for j in range(index - 7, index - 7 * rule.weeks - 1, -7) if j >= 0]
        found = _departure(amount, history, rule)
        if found is not None and not (per_api and found[0] <= 0):
            usual, spread, threshold, weeks = found
            yield Anomaly(day, api_id, name, amount, usual, spread, threshold, weeks)


def spikes(anomalies: Iterable[Anomaly], factor: Decimal) -> tuple[Anomaly, ...]:
    """The anomalies whose spend is at least ``factor`` × the usual level (for alerts)."""
    return tuple(a for a in anomalies if (ratio := a.ratio) is not None and ratio >= factor)
