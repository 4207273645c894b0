"""Month pacing: projections from the weekday pattern, and the budget's run-out day."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reportbot.core.forecast import forecast_month
from reportbot.core.periods import month_period
from reportbot.render.insight_text import pacing

D = Decimal
AUGUST = month_period(2024, 8)  # Thu Aug 1 .. Sat Aug 31: 22 weekdays, 9 weekend days


def series(first: date, last: date, amount: object) -> dict[date, Decimal]:
    """``amount(day)`` (or a constant) for every day ``first..last``."""
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    return {d: D(amount(d) if callable(amount) else amount) for d in days}  # type: ignore[arg-type]


def weekday_pattern(day: date) -> str:
    return "20" if day.weekday() >= 5 else "100"


@pytest.mark.parametrize(
    ("as_of", "since", "spent"),
    [
        (date(2024, 8, 11), date(2024, 6, 1), D(1000)),  # 10 days so far
        (date(2024, 8, 2), date(2024, 6, 1), D(100)),  # one day: weekday levels from July
        (date(2024, 8, 1), date(2024, 6, 1), D(0)),  # no day yet: July alone
        (date(2024, 8, 2), date(2024, 8, 1), D(100)),  # one day and no history at all
        (date(2024, 9, 1), date(2024, 6, 1), D(3100)),  # the month is over
    ],
)
def test_a_constant_spend_projects_exactly_c_times_the_days_of_the_month(
    as_of: date, since: date, spent: Decimal
) -> None:
    found = forecast_month(
        AUGUST, series(since, as_of - timedelta(days=1), "100"), as_of=as_of, since=since
    )
    assert (found.spent, found.projected) == (spent, D(3100))


def test_a_weekday_pattern_is_projected_weekday_by_weekday() -> None:
    # 14 days so far (each weekday twice): 10 weekdays × 100 + 4 weekend days × 20 = 1,080;
    # with the rest, 22 × 100 + 9 × 20 = 2,380 for the month
    data = series(date(2024, 6, 1), date(2024, 8, 14), weekday_pattern)
    found = forecast_month(AUGUST, data, as_of=date(2024, 8, 15), since=date(2024, 6, 1))
    assert found.levels == (D(100),) * 5 + (D(20),) * 2
    assert (found.spent, found.projected) == (D(1080), D(2380))


def test_a_weekday_seen_once_this_month_falls_back_to_the_trailing_weeks() -> None:
    # July at 50 a day, August at 100: after 7 days each weekday has 1 August day and 7 July
    # ones among its last 8, median 50; projected 7 × 100 + 24 × 50 = 1,900
    data = series(date(2024, 6, 1), date(2024, 7, 31), "50") | series(
        date(2024, 8, 1), date(2024, 8, 7), "100"
    )
    found = forecast_month(AUGUST, data, as_of=date(2024, 8, 8), since=date(2024, 6, 1))
    assert (found.spent, found.projected) == (D(700), D(1900))
    # after 14 days each weekday has 2 August days: their median, 100; 3,100 in all
    data |= series(date(2024, 8, 8), date(2024, 8, 14), "100")
    found = forecast_month(AUGUST, data, as_of=date(2024, 8, 15), since=date(2024, 6, 1))
    assert found.projected == D(3100)


def test_an_empty_month_projects_nothing_and_keeps_its_budget() -> None:
    found = forecast_month(
        AUGUST, {}, as_of=date(2024, 8, 15), since=date(2024, 6, 1), budget=D(1000)
    )
    assert (found.spent, found.projected, found.runs_out, found.share) == (
        D(0),
        D(0),
        None,
        D(0),
    )


@pytest.mark.parametrize(
    ("budget", "runs_out", "share", "exhausted", "sentence"),
    [
        # 100 a day: the running sum reaches 1,550 on day 16 (1,600)
        (
            D(1550),
            date(2024, 8, 16),
            D(2),
            False,
            "August so far: 1,000.00 credits in 10 days; "
            "on pace for 3,100.00 by Aug 31, 200% of the 1,550.00 budget; at this pace it runs "
            "out on Fri Aug 16.",
        ),
        # reached on day 10, before Aug 11: already used up
        (
            D(1000),
            date(2024, 8, 10),
            D("3.1"),
            True,
            "August so far: 1,000.00 credits in 10 days; "
            "on pace for 3,100.00 by Aug 31, 310% of the 1,000.00 budget; the budget was used up "
            "on Sat Aug 10.",
        ),
        # reached exactly on the last day
        (
            D(3100),
            date(2024, 8, 31),
            D(1),
            False,
            "August so far: 1,000.00 credits in 10 days; "
            "on pace for 3,100.00 by Aug 31, 100% of the 3,100.00 budget; at this pace it runs "
            "out on Sat Aug 31.",
        ),
        (
            D("3100.01"),
            None,
            D(3100) / D("3100.01"),
            False,
            "August so far: 1,000.00 credits "
            "in 10 days; on pace for 3,100.00 by Aug 31, 100% of the 3,100.01 budget.",
        ),
        (
            D(4000),
            None,
            D("0.775"),
            False,
            "August so far: 1,000.00 credits in 10 days; "
            "on pace for 3,100.00 by Aug 31, 78% of the 4,000.00 budget.",
        ),
    ],
)
def test_the_budget_runs_out_on_the_first_day_the_running_sum_reaches_it(
    budget: Decimal,
    runs_out: date | None,
    share: Decimal,
    exhausted: bool,
    sentence: str,
) -> None:
    data = series(date(2024, 6, 1), date(2024, 8, 10), "100")
    found = forecast_month(
        AUGUST, data, as_of=date(2024, 8, 11), since=date(2024, 6, 1), budget=budget
    )
    assert (found.runs_out, found.share, found.exhausted) == (runs_out, share, exhausted)
    assert pacing(found) == sentence


def test_a_month_that_is_over_says_what_it_spent_against_the_budget() -> None:
    data = series(date(2024, 6, 1), date(2024, 8, 31), weekday_pattern)
    found = forecast_month(
        AUGUST, data, as_of=date(2024, 9, 1), since=date(2024, 6, 1), budget=D(2000)
    )
    # 100 × 22 weekdays + 20 × 9 weekend days; the running sum passes 2,000 on Tue Aug 27
    assert found.complete and found.projected == found.spent == D(2380)
    assert pacing(found) == (
        "August: 2,380.00 credits, 119% of the 2,000.00 budget; the budget was used up on "
        "Tue Aug 27."
    )


@given(
    c=st.decimals(min_value=0, max_value=10**6, places=3),
    year=st.integers(min_value=2020, max_value=2030),
    month=st.integers(min_value=1, max_value=12),
    elapsed=st.integers(min_value=0, max_value=31),
    history_days=st.integers(min_value=0, max_value=90),
)
def test_any_constant_spend_projects_c_times_the_days_whatever_the_history(
    c: Decimal, year: int, month: int, elapsed: int, history_days: int
) -> None:
    chosen = month_period(year, month)
    as_of = min(chosen.start + timedelta(days=elapsed), chosen.end + timedelta(days=1))
    since = min(chosen.start, as_of) - timedelta(days=history_days)
    data = series(since, as_of - timedelta(days=1), c) if as_of > since else {}
    found = forecast_month(chosen, data, as_of=as_of, since=since)
    expected = c * chosen.length if data else D(0)
    assert found.projected == expected
