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
from datetime import date
from decimal import Decimal, localcontext

from reportbot.core.series import Daily, daily_by_api, daily_totals, mad, median
from reportbot.core.series import same_weekday_before as history_days
from reportbot.core.usage import UsageRow

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
    history = [series.get(d, Decimal(0)) for d in history_days(day, rule.weeks, since)]
    if len(history) < rule.min_weeks:
        return None
    usual = median(history)
    spread = mad(history, usual) * MAD_TO_SIGMA
    floor = max(rule.floor_share * usual, rule.floor_credits)
    threshold = rule.k * max(spread, floor)
    if abs(series.get(day, Decimal(0)) - usual) > threshold:
        return usual, spread, threshold, len(history)
    return None


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
    rule = rule or AnomalyRule()
    checked = [d for d in days if d < today]
    if not checked:
        return ()
    rows = tuple(rows)
    with localcontext(prec=EXACT_DIGITS):
        found = list(_scan(daily_totals(rows, since, checked[-1]), None, "", checked, since, rule))
        for api_id, series in daily_by_api(rows, since, checked[-1]).items():
            name = names.get(api_id) or api_id
            found += [
                a
                for a in _scan(series, api_id, name, checked, since, rule)
                if a.amount > 0 and a.usual > 0
            ]
    found.sort(key=lambda a: (a.day, a.api_id is not None, -abs(a.departure), a.name))
    return tuple(found)


def _scan(
    series: Daily,
    api_id: str | None,
    name: str,
    days: Sequence[date],
    since: date,
    rule: AnomalyRule,
) -> Iterable[Anomaly]:
    for day in days:
        if (found := check_day(series, day, since=since, rule=rule)) is not None:
            usual, spread, threshold, weeks = found
            amount = series.get(day, Decimal(0))
            yield Anomaly(day, api_id, name, amount, usual, spread, threshold, weeks)


def spikes(anomalies: Iterable[Anomaly], factor: Decimal) -> tuple[Anomaly, ...]:
    """The anomalies whose spend is at least ``factor`` × the usual level (for alerts)."""
    return tuple(a for a in anomalies if (ratio := a.ratio) is not None and ratio >= factor)
