"""What a report says beyond its totals: why it moved, anomalies, pacing, runway. Pure, exact.

    history_range(period, weeks)      the first day to fetch: the previous period and the
                                      trailing weeks the anomaly rule looks back on
    compute_insights(report, usage, today, budget=…, balance=…)   -> Insights
    with_insights(report, usage, today, …)                         -> the Report carrying them

``usage`` holds every fetched row (history included); ``compute_report`` only counts the
rows of the period and the previous one, so the report's own figures do not change.
The rules, each recomputable by hand, are in the docstrings of explain_change,
reportbot.core.anomalies, reportbot.core.forecast and runway.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import Decimal, localcontext
from typing import Literal

from reportbot.core.anomalies import (
    Anomaly,
    AnomalyRule,
    anomalies_in,
    daily_grid,
    find_anomalies,
)
from reportbot.core.forecast import Pacing, forecast_month
from reportbot.core.periods import Period, month_period
from reportbot.core.report import ApiLine, Report
from reportbot.core.series import ZERO, Daily, daily_totals
from reportbot.core.usage import Usage

EXACT_DIGITS = 80
BURN_DAYS = 7
SHOWN_ANOMALIES = 8  # a report lists at most this many, the largest
UNAVAILABLE: Literal["unavailable"] = "unavailable"
BalanceReading = Decimal | Literal["unavailable"] | None  # None: not asked for


@dataclass(frozen=True, slots=True)
class WhyRule:
    target: Decimal = Decimal("0.75")  # share of the change to explain
    max_apis: int = 3
    floor_share: Decimal = Decimal("0.01")
    floor_credits: Decimal = Decimal(1)


@dataclass(frozen=True, slots=True)
class Change:
    delta: Decimal
    delta_pct: Decimal | None  # None when the previous period had no usage
    notable: bool
    drivers: tuple[ApiLine, ...]  # the APIs named, largest change first

    @property
    def explained(self) -> Decimal:
        """The drivers' share of the change (may exceed 1 when other APIs moved against it)."""
        return sum((d.delta for d in self.drivers), ZERO) / self.delta if self.delta else ZERO

    @property
    def others(self) -> Decimal:
        """What every API not named changed by, together."""
        return self.delta - sum((d.delta for d in self.drivers), ZERO)


@dataclass(frozen=True, slots=True)
class Runway:
    balance: Decimal | None  # None: the balance call failed
    burn: Decimal  # credits a day over the burn window
    window: tuple[date, date]
    threshold_days: int | None = None

    @property
    def days(self) -> Decimal | None:
        if self.balance is None or self.burn <= 0:
            return None
        return self.balance / self.burn

    @property
    def low(self) -> bool:
        days = self.days
        return self.threshold_days is not None and days is not None and days < self.threshold_days


@dataclass(frozen=True, slots=True)
class Insights:
    change: Change
    anomalies: tuple[Anomaly, ...]  # by day, the total first
    pacing: Pacing | None
    runway: Runway | None  # None when no balance was asked for

    def top_anomalies(self, limit: int = SHOWN_ANOMALIES) -> tuple[Anomaly, ...]:
        """The ``limit`` largest departures in credits, back in day order."""
        largest = sorted(self.anomalies, key=lambda a: -abs(a.departure))[:limit]
        return tuple(a for a in self.anomalies if a in largest)


def history_range(period: Period, weeks: int = 8) -> date:
    """The first local day to fetch for ``period``'s report and its insights."""
    return min(period.previous().start, period.start - timedelta(weeks=weeks))


def explain_change(report: Report, rule: WhyRule | None = None) -> Change:
    """The APIs that explain most of the period's change (see explain_lines)."""
    return explain_lines(report.apis, report.previous_total, rule)


def explain_lines(
    lines: Iterable[ApiLine], previous_total: Decimal, rule: WhyRule | None = None
) -> Change:
    """The lines (APIs, then against before) that explain most of their total change.

    The change D (the sum of the lines' deltas) is *notable* when |D| ≥ max(floor_credits,
    floor_share × previous total). The candidates are the APIs whose change has D's sign and
    |change| ≥ max(floor_share × |D|, floor_credits), largest |change| first (ties by name);
    they are taken one by one until their changes add up to ``target`` × |D| or
    ``max_apis`` are named. Corrections can pass lines whose ``previous`` is what was sent.
    """
    rule = rule or WhyRule()
    lines = tuple(lines)
    with localcontext(prec=EXACT_DIGITS):
        delta = sum((line.delta for line in lines), ZERO)
        notable = abs(delta) >= max(rule.floor_credits, rule.floor_share * previous_total)
        noise = max(rule.floor_share * abs(delta), rule.floor_credits)
        candidates = sorted(
            (line for line in lines if line.delta * delta > 0 and abs(line.delta) >= noise),
            key=lambda line: (-abs(line.delta), line.name, line.api_id),
        )
        drivers: list[ApiLine] = []
        covered = ZERO
        for line in candidates if notable else ():
            if len(drivers) >= rule.max_apis or covered >= rule.target * abs(delta):
                break
            drivers.append(line)
            covered += abs(line.delta)
        pct = None if previous_total == 0 else delta * 100 / previous_total
    return Change(delta, pct, notable, tuple(drivers))


def runway(
    balance: Decimal | None, series: Daily, last_day: date, *, threshold_days: int | None = None
) -> Runway:
    """Days the balance lasts at the burn: the mean daily spend of the 7 days to ``last_day``."""
    window = (last_day - timedelta(days=BURN_DAYS - 1), last_day)
    spent = sum((series.get(window[0] + timedelta(days=i), ZERO) for i in range(BURN_DAYS)), ZERO)
    with localcontext(prec=EXACT_DIGITS):
        return Runway(balance, spent / BURN_DAYS, window, threshold_days)


def pacing_month(period: Period, today: date) -> tuple[Period, date]:
    """The month paced (the one holding the period's last day) and its first day not counted."""
    month = month_period(period.end.year, period.end.month)
    return month, min(today, period.end + timedelta(days=1))


def compute_insights(
    report: Report,
    usage: Usage,
    today: date,
    *,
    budget: Decimal | None = None,
    balance: BalanceReading = None,
    runway_days: int | None = None,
    anomaly_rule: AnomalyRule | None = None,
    why_rule: WhyRule | None = None,
) -> Insights:
    """Every insight of ``report``; ``usage`` covers history_range(period)..period.end."""
    rule = anomaly_rule or AnomalyRule()
    period = report.period
    since = history_range(period, rule.weeks)
    month, as_of = pacing_month(period, today)
    series, found = _series_and_anomalies(report, usage, since, as_of, today, rule)
    pacing = forecast_month(
        month, series, as_of=as_of, since=since, budget=budget, weeks=rule.weeks
    )
    reading = balance if isinstance(balance, Decimal) else None
    return Insights(
        change=explain_change(report, why_rule),
        anomalies=found,
        pacing=pacing,
        runway=None
        if balance is None
        else runway(reading, series, as_of - timedelta(days=1), threshold_days=runway_days),
    )


def _series_and_anomalies(
    report: Report, usage: Usage, since: date, as_of: date, today: date, rule: AnomalyRule
) -> tuple[Daily, tuple[Anomaly, ...]]:
    """The daily totals since..as_of - 1 and the anomalies, from one pass over the rows.

    Both sum each day's rows in row order; the last checked day is as_of - 1 (a day before
    today, and no later than the period's end), so one grid serves both.
    """
    last = max(since, as_of - timedelta(days=1))
    checked = [d for d in report.days if since <= d < today]
    if checked and checked[-1] != last:  # not reached: as_of - 1 is the last checked day
        series = daily_totals(usage.rows, since, last)
        found = find_anomalies(
            usage.rows, report.days, usage.api_names, since=since, today=today, rule=rule
        )
        return series, found
    grid = daily_grid(usage.rows, since, last, per_api=bool(checked))
    series = {since + timedelta(days=i): total for i, total in enumerate(grid.totals)}
    return series, anomalies_in(grid, checked, usage.api_names, rule=rule) if checked else ()


def with_insights(
    report: Report,
    usage: Usage,
    today: date,
    *,
    budget: Decimal | None = None,
    balance: BalanceReading = None,
    runway_days: int | None = None,
) -> Report:
    """``report`` carrying its insights, computed with the default rules."""
    found = compute_insights(
        report, usage, today, budget=budget, balance=balance, runway_days=runway_days
    )
    return replace(report, insights=found)
