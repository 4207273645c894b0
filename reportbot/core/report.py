"""The numbers of a report, computed from usage rows: pure, exact (Decimal), no I/O."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Context, Decimal, localcontext
from typing import TYPE_CHECKING, Literal

from reportbot.core.period_sums import PeriodSums, period_sums
from reportbot.core.periods import Period
from reportbot.core.usage import Usage

if TYPE_CHECKING:
    from reportbot.core.insights import Insights

ZERO = Decimal(0)
OTHER_ID = "__other__"
MOVERS = 5
EXACT_DIGITS = 80  # sums of Decimals stay exact, not rounded to 28 digits
RATIO = Context(prec=28)  # shares are ratios: 28 digits are plenty

Trend = Literal["new", "stopped", "up", "down", "flat"]


@dataclass(frozen=True, slots=True)
class ApiLine:
    """One API (or the "Other" roll-up) in one period against the previous one."""

    api_id: str
    name: str
    total: Decimal
    previous: Decimal
    daily: tuple[Decimal, ...]  # aligned with Report.days
    share: Decimal  # of the period total, 0..1

    @property
    def delta(self) -> Decimal:
        return self.total - self.previous

    @property
    def delta_pct(self) -> Decimal | None:
        """Relative change in percent; None when there is nothing to compare with."""
        return None if self.previous == 0 else self.delta * 100 / self.previous

    @property
    def trend(self) -> Trend:
        if self.previous == 0 and self.total != 0:
            return "new"
        if self.total == 0 and self.previous != 0:
            return "stopped"
        return "up" if self.delta > 0 else "down" if self.delta < 0 else "flat"


@dataclass(frozen=True, slots=True)
class Report:
    name: str
    period: Period
    previous_period: Period
    timezone: str
    days: tuple[date, ...]
    apis: tuple[ApiLine, ...]  # every API used in either period, by amount, largest first
    top: tuple[ApiLine, ...]  # the top N used this period
    other: ApiLine | None  # the rest of this period's APIs rolled up
    other_count: int
    stopped: tuple[ApiLine, ...]
    movers: tuple[ApiLine, ...]  # by absolute delta, largest first
    total: Decimal
    previous_total: Decimal
    daily_totals: tuple[Decimal, ...]
    previous_daily_totals: tuple[Decimal, ...]
    credit_price: Decimal | None = None
    currency: str = "USD"
    insights: Insights | None = None  # set by reportbot.core.insights.with_insights

    @property
    def delta(self) -> Decimal:
        return self.total - self.previous_total

    @property
    def delta_pct(self) -> Decimal | None:
        return None if self.previous_total == 0 else self.delta * 100 / self.previous_total

    @property
    def busiest_day(self) -> tuple[date, Decimal] | None:
        if not any(self.daily_totals):
            return None
        amount, day = max(zip(self.daily_totals, self.days, strict=True), key=lambda p: p[0])
        return day, amount

    @property
    def new(self) -> tuple[ApiLine, ...]:
        return tuple(line for line in self.apis if line.trend == "new")

    def money(self, credits: Decimal) -> Decimal | None:
        return None if self.credit_price is None else credits * self.credit_price


def compute_report(
    name: str,
    period: Period,
    usage: Usage,
    *,
    timezone: str = "UTC",
    top: int = 10,
    credit_price: Decimal | None = None,
    currency: str = "USD",
) -> Report:
    """Build a report of ``period`` against ``period.previous()`` from rows covering both."""
    with localcontext(prec=EXACT_DIGITS):
        return _compute(name, period, usage, timezone, top, credit_price, currency)


def _compute(
    name: str,
    period: Period,
    usage: Usage,
    timezone: str,
    top: int,
    credit_price: Decimal | None,
    currency: str,
) -> Report:
    previous = period.previous()
    days = tuple(period.days())
    sums = period_sums(usage.rows, days, tuple(previous.days()))
    lines = _api_lines(sums, usage.api_names)
    used = [line for line in lines if line.total != 0]
    top_lines, rest = used[:top], used[top:]
    return Report(
        name=name,
        period=period,
        previous_period=previous,
        timezone=timezone,
        days=days,
        apis=tuple(lines),
        top=tuple(top_lines),
        other=_roll_up(rest, days, sums.total),
        other_count=len(rest),
        stopped=tuple(line for line in lines if line.trend == "stopped"),
        movers=tuple(_movers(lines)),
        total=sums.total,
        previous_total=sums.previous_total,
        daily_totals=sums.daily_totals,
        previous_daily_totals=sums.previous_daily_totals,
        credit_price=credit_price,
        currency=currency,
    )


def _api_lines(sums: PeriodSums, names: dict[str, str]) -> list[ApiLine]:
    lines = [
        ApiLine(
            api_id=api_id,
            name=names.get(api_id) or api_id,
            total=amount,
            previous=previous,
            daily=daily,
            share=_share(amount, sums.total),
        )
        for api_id, daily, amount, previous in sums.apis
    ]
    lines.sort(key=lambda line: (-line.total, -line.previous, line.name, line.api_id))
    return lines


def _share(amount: Decimal, total: Decimal) -> Decimal:
    return RATIO.divide(amount, total) if total else ZERO


def _roll_up(rest: Sequence[ApiLine], days: tuple[date, ...], total: Decimal) -> ApiLine | None:
    if not rest:
        return None
    amount = sum((line.total for line in rest), ZERO)
    return ApiLine(
        api_id=OTHER_ID,
        name=f"Other ({len(rest)} APIs)",
        total=amount,
        previous=sum((line.previous for line in rest), ZERO),
        daily=tuple(sum(col, ZERO) for col in zip(*(line.daily for line in rest), strict=True)),
        share=_share(amount, total),
    )


def _movers(lines: Sequence[ApiLine]) -> list[ApiLine]:
    moved = [line for line in lines if line.delta != 0]
    moved.sort(key=lambda line: (-abs(line.delta), line.name, line.api_id))
    return moved[:MOVERS]
