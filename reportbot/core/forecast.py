"""Month pacing: the projected month-end spend and the budget's run-out day. Pure, exact.

Of a month, the *elapsed* days are those before ``as_of`` (the first day not yet complete);
``spent`` is their sum. Each remaining day is projected at the *level* of its weekday:

    level(w) = median of the elapsed days of the month that fall on weekday w,
               when there are at least ``min_samples`` of them; otherwise
               median of the last ``weeks`` days on weekday w before ``as_of``
               (they may reach into the previous month; days before ``since``, the start
               of the data, are not used); when there is none of those either,
               median of every day of those weeks before ``as_of``; 0 when there is no day.
    projected = spent + Σ level(weekday of d) over the remaining days d

So a constant spend of c a day projects exactly c × days in the month. With a budget, the
run-out day is the first day on which the running sum (actual days, then projected ones)
reaches the budget; None when it lasts the month.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal, localcontext

from reportbot.core.periods import Period
from reportbot.core.series import ZERO, Daily, median

EXACT_DIGITS = 80


@dataclass(frozen=True, slots=True)
class Pacing:
    month: Period
    as_of: date  # elapsed days: month.start .. as_of - 1
    spent: Decimal
    projected: Decimal  # spent + the projection of the remaining days
    elapsed_days: int
    levels: tuple[Decimal, ...]  # level(w) for Monday..Sunday, as used for remaining days
    budget: Decimal | None = None
    runs_out: date | None = None

    @property
    def complete(self) -> bool:
        return self.elapsed_days == self.month.length

    @property
    def remaining_days(self) -> int:
        return self.month.length - self.elapsed_days

    @property
    def share(self) -> Decimal | None:
        """The projection as a share of the budget (1 = exactly the budget)."""
        return None if not self.budget else self.projected / self.budget

    @property
    def over_budget(self) -> bool:
        return self.budget is not None and self.projected > self.budget

    @property
    def exhausted(self) -> bool:
        """The budget is already used up by the elapsed days."""
        return self.runs_out is not None and self.runs_out < self.as_of


def forecast_month(
    month: Period,
    series: Daily,
    *,
    as_of: date,
    since: date,
    budget: Decimal | None = None,
    weeks: int = 8,
    min_samples: int = 2,
) -> Pacing:
    """Pacing of ``month`` from ``series`` (credits per day, covering ``since``..as_of - 1)."""
    with localcontext(prec=EXACT_DIGITS):
        days = month.days()
        elapsed = [d for d in days if d < as_of]
        levels = tuple(
            _level(w, elapsed, series, as_of, since, weeks, min_samples) for w in range(7)
        )
        amounts = [series.get(d, ZERO) if d < as_of else levels[d.weekday()] for d in days]
        spent = sum(amounts[: len(elapsed)], ZERO)
        return Pacing(
            month=month,
            as_of=as_of,
            spent=spent,
            projected=sum(amounts, ZERO),
            elapsed_days=len(elapsed),
            levels=levels,
            budget=budget,
            runs_out=_runs_out(days, amounts, budget),
        )


def _level(
    weekday: int,
    elapsed: list[date],
    series: Daily,
    as_of: date,
    since: date,
    weeks: int,
    min_samples: int,
) -> Decimal:
    in_month = [series.get(d, ZERO) for d in elapsed if d.weekday() == weekday]
    if len(in_month) >= min_samples:
        return median(in_month)
    last = as_of - timedelta(days=1)
    latest = last - timedelta(days=(last.weekday() - weekday) % 7)
    trailing = [latest - timedelta(days=7 * n) for n in range(weeks)]
    samples = [series.get(d, ZERO) for d in trailing if d >= since]
    if samples:
        return median(samples)
    first = max(since, as_of - timedelta(days=7 * weeks))
    recent = [series.get(first + timedelta(days=i), ZERO) for i in range((as_of - first).days)]
    return median(recent) if recent else ZERO


def _runs_out(days: list[date], amounts: list[Decimal], budget: Decimal | None) -> date | None:
    if budget is None:
        return None
    running = ZERO
    for day, amount in zip(days, amounts, strict=True):
        running += amount
        if running >= budget:
            return day
    return None
