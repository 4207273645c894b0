"""The numbers of a report: every figure reproducible by hand from the rows."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reportbot.core.periods import Period, parse_period
from reportbot.core.report import MOVERS, OTHER_ID, ApiLine, Report, compute_report
from reportbot.core.usage import Usage, UsageRow

TODAY = date(2024, 8, 20)
WEEK = parse_period("2024-W33", TODAY)  # Mon 12 - Sun 18 August; compared with 5-11 August
NAMES = {"chat": "Chat completions", "img": "Image generation", "song": "Suno songs"}


def row(day: str, api_id: str, amount: str) -> UsageRow:
    return UsageRow(date.fromisoformat(day), api_id, Decimal(amount))


def aug(*specs: str) -> list[UsageRow]:
    """Rows in August 2024 written ``"12 chat 30"``: day of month, API id, credits."""
    return [row(f"2024-08-{int(d):02d}", api, amount) for d, api, amount in map(str.split, specs)]


def report(
    *rows: UsageRow,
    period: Period = WEEK,
    names: dict[str, str] | None = None,
    reported_total: str | None = None,
    top: int = 10,
    credit_price: str | None = None,
) -> Report:
    usage = Usage(
        rows=rows,
        api_names=NAMES if names is None else names,
        reported_total=None if reported_total is None else Decimal(reported_total),
    )
    return compute_report(
        "weekly-digest",
        period,
        usage,
        timezone="Europe/Berlin",
        top=top,
        credit_price=None if credit_price is None else Decimal(credit_price),
    )


def line(built: Report, api_id: str) -> ApiLine:
    (found,) = [line for line in built.apis if line.api_id == api_id]
    return found


def D(value: str) -> Decimal:
    return Decimal(value)


def Ds(values: str) -> tuple[Decimal, ...]:
    return tuple(Decimal(v) for v in values.split())


# --- totals and deltas -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rows", "total", "previous", "delta", "delta_pct"),
    [
        (aug("12 chat 10", "13 img 5.5", "5 chat 5"), "15.5", "5", "10.5", "210"),
        (aug("14 chat 0.000001"), "0.000001", "0", "0.000001", None),
        (aug("14 chat 5", "6 chat 20"), "5", "20", "-15", "-75"),
        (aug("6 chat 20"), "0", "20", "-20", "-100"),
        (aug("14 chat 7", "6 img 7"), "7", "7", "0", "0"),
        ([], "0", "0", "0", None),
        (aug("12 chat 0.1", "12 chat 0.2", "11 chat 0.3"), "0.3", "0.3", "0.0", "0"),
    ],
)
def test_the_period_total_previous_total_and_delta_are_exact_sums(
    rows: list[UsageRow], total: str, previous: str, delta: str, delta_pct: str | None
) -> None:
    built = report(*rows)

    assert built.total == D(total)
    assert built.previous_total == D(previous)
    assert built.delta == D(delta)
    assert built.delta_pct == (None if delta_pct is None else D(delta_pct))


@pytest.mark.parametrize(
    ("rows", "api_id", "total", "previous", "delta", "delta_pct", "trend"),
    [
        (aug("12 chat 30", "5 chat 20"), "chat", "30", "20", "10", "50", "up"),
        (aug("12 chat 5", "5 chat 20"), "chat", "5", "20", "-15", "-75", "down"),
        (aug("12 chat 20", "5 chat 20"), "chat", "20", "20", "0", "0", "flat"),
        (aug("12 chat 20"), "chat", "20", "0", "20", None, "new"),
        (aug("5 chat 20"), "chat", "0", "20", "-20", "-100", "stopped"),
        (aug("12 chat 1", "12 chat -1"), "chat", "0", "0", "0", None, "flat"),
        (aug("12 chat 1", "5 chat 3"), "chat", "1", "3", "-2", "-66." + "6" * 25 + "7", "down"),
    ],
)
def test_each_api_has_its_total_previous_total_delta_and_trend(
    rows: list[UsageRow],
    api_id: str,
    total: str,
    previous: str,
    delta: str,
    delta_pct: str | None,
    trend: str,
) -> None:
    found = line(report(*rows), api_id)

    assert (found.total, found.previous, found.delta) == (D(total), D(previous), D(delta))
    assert found.delta_pct == (None if delta_pct is None else D(delta_pct))
    assert found.trend == trend


def test_apis_used_before_but_not_now_are_listed_as_stopped() -> None:
    built = report(
        row("2024-08-12", "chat", "10"),
        row("2024-08-05", "chat", "4"),
        row("2024-08-05", "img", "3"),
        row("2024-08-10", "song", "9"),
    )

    assert [line.api_id for line in built.stopped] == ["song", "img"]
    assert all(line.total == 0 and line.share == 0 for line in built.stopped)
    assert [line.api_id for line in built.top] == ["chat"]
    assert built.other is None


def test_apis_with_no_previous_use_are_new() -> None:
    built = report(row("2024-08-12", "chat", "10"), row("2024-08-05", "img", "4"))

    assert [line.api_id for line in built.new] == ["chat"]


# --- shares, top N and Other -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("amounts", "shares"),
    [
        ({"chat": "75", "img": "25"}, {"chat": "0.75", "img": "0.25"}),
        ({"chat": "1", "img": "1", "song": "2"}, {"chat": "0.25", "img": "0.25", "song": "0.5"}),
        ({"chat": "0.000003"}, {"chat": "1"}),
        ({"chat": "2", "img": "1"}, {"chat": "0." + "6" * 27 + "7", "img": "0." + "3" * 28}),
    ],
)
def test_each_api_has_its_share_of_the_period_total(
    amounts: dict[str, str], shares: dict[str, str]
) -> None:
    built = report(*(row("2024-08-14", api, amount) for api, amount in amounts.items()))

    assert {line.api_id: line.share for line in built.apis} == {
        api: D(share) for api, share in shares.items()
    }


def test_shares_are_zero_when_the_period_total_is_zero() -> None:
    built = report(row("2024-08-14", "chat", "5"), row("2024-08-15", "img", "-5"))

    assert built.total == 0
    assert {line.share for line in built.apis} == {Decimal(0)}


FIVE_APIS = (
    row("2024-08-12", "a", "50"),
    row("2024-08-13", "b", "40"),
    row("2024-08-14", "c", "30"),
    row("2024-08-14", "d", "20"),
    row("2024-08-18", "e", "10"),
    row("2024-08-05", "c", "7"),
    row("2024-08-05", "gone", "99"),  # stopped: never in the top, never in Other
)


@pytest.mark.parametrize(
    ("top", "top_ids", "other_count", "other_total", "other_previous", "other_daily"),
    [
        (1, "a", 4, "100", "7", ("0", "40", "50", "0", "0", "0", "10")),
        (2, "a b", 3, "60", "7", ("0", "0", "50", "0", "0", "0", "10")),
        (3, "a b c", 2, "30", "0", ("0", "0", "20", "0", "0", "0", "10")),
        (4, "a b c d", 1, "10", "0", ("0", "0", "0", "0", "0", "0", "10")),
        (5, "a b c d e", 0, None, None, None),
        (10, "a b c d e", 0, None, None, None),
    ],
)
def test_the_top_apis_are_shown_and_the_rest_rolled_up_into_other(
    top: int,
    top_ids: str,
    other_count: int,
    other_total: str | None,
    other_previous: str | None,
    other_daily: tuple[str, ...] | None,
) -> None:
    built = report(*FIVE_APIS, top=top)

    assert [line.api_id for line in built.top] == top_ids.split()
    assert built.other_count == other_count
    if other_total is None:
        assert built.other is None
        return
    assert built.other is not None
    assert built.other.api_id == OTHER_ID
    assert built.other.name == f"Other ({other_count} APIs)"
    assert built.other.total == D(other_total)
    assert built.other.previous == D(other_previous or "0")
    assert built.other.daily == tuple(D(x) for x in other_daily or ())
    assert built.other.share == D(other_total) / D("150")
    assert sum(line.total for line in built.top) + built.other.total == built.total


def test_apis_are_ordered_by_amount_then_previous_amount_then_name() -> None:
    built = report(
        row("2024-08-12", "z", "10"),
        row("2024-08-12", "y", "10"),
        row("2024-08-05", "y", "1"),
        row("2024-08-12", "x", "10"),
        row("2024-08-12", "w", "20"),
        names={},
    )

    assert [line.api_id for line in built.apis] == ["w", "y", "x", "z"]


# --- movers ----------------------------------------------------------------------------------


def test_movers_are_ranked_by_absolute_delta_largest_first() -> None:
    built = report(
        row("2024-08-12", "up", "110"),
        row("2024-08-05", "up", "100"),  # +10
        row("2024-08-05", "down", "50"),  # -50 (stopped)
        row("2024-08-12", "new", "30"),  # +30
        row("2024-08-12", "flat", "5"),
        row("2024-08-05", "flat", "5"),  # 0: not a mover
        names={},
    )

    assert [(line.api_id, line.delta) for line in built.movers] == [
        ("down", D("-50")),
        ("new", D("30")),
        ("up", D("10")),
    ]


def test_movers_with_equal_absolute_deltas_are_ordered_by_name_then_id() -> None:
    built = report(
        row("2024-08-12", "id-3", "10"),  # +10, "Beta"
        row("2024-08-05", "id-1", "10"),  # -10, "Alpha"
        row("2024-08-12", "id-2", "10"),  # +10, "Beta"
        row("2024-08-05", "id-0", "10"),  # -10, "Gamma"
        names={"id-1": "Alpha", "id-2": "Beta", "id-3": "Beta", "id-0": "Gamma"},
    )

    assert [line.api_id for line in built.movers] == ["id-1", "id-2", "id-3", "id-0"]


def test_movers_are_capped() -> None:
    rows = [row("2024-08-12", f"api-{i}", str(i + 1)) for i in range(MOVERS + 3)]

    built = report(*rows, names={})

    assert len(built.movers) == MOVERS
    assert [line.api_id for line in built.movers] == [f"api-{i}" for i in range(7, 2, -1)]


# --- days ------------------------------------------------------------------------------------


def test_daily_series_are_aligned_with_the_days_and_missing_days_are_zero() -> None:
    built = report(
        row("2024-08-12", "chat", "1"),
        row("2024-08-12", "chat", "2"),  # two rows on one day add up
        row("2024-08-15", "chat", "4"),
        row("2024-08-18", "img", "8"),
        row("2024-08-06", "img", "16"),
    )

    assert built.days == tuple(date(2024, 8, d) for d in range(12, 19))
    assert line(built, "chat").daily == Ds("3 0 0 4 0 0 0")
    assert line(built, "img").daily == Ds("0 0 0 0 0 0 8")
    assert built.daily_totals == Ds("3 0 0 4 0 0 8")
    assert built.previous_daily_totals == Ds("0 16 0 0 0 0 0")


def test_a_month_is_compared_with_a_shorter_month_day_by_day() -> None:
    march = parse_period("2024-03", TODAY)

    built = report(row("2024-03-31", "chat", "2"), row("2024-02-29", "chat", "1"), period=march)

    assert built.previous_period == parse_period("2024-02", TODAY)
    assert len(built.days) == len(built.daily_totals) == 31
    assert len(built.previous_daily_totals) == 29
    assert (built.daily_totals[-1], built.previous_daily_totals[-1]) == (D("2"), D("1"))
    assert built.delta_pct == D("100")


@pytest.mark.parametrize(
    ("rows", "busiest"),
    [
        (aug("13 chat 5", "16 chat 9"), ("2024-08-16", "9")),
        (aug("13 chat 5", "13 img 5", "16 chat 9"), ("2024-08-13", "10")),
        (aug("14 chat 9", "17 img 9"), ("2024-08-14", "9")),
        (aug("18 chat 0.000001"), ("2024-08-18", "0.000001")),
        ([], None),
        (aug("5 chat 9"), None),  # only the previous period
    ],
)
def test_the_busiest_day_is_the_first_day_with_the_largest_total(
    rows: list[UsageRow], busiest: tuple[str, str] | None
) -> None:
    expected = None if busiest is None else (date.fromisoformat(busiest[0]), D(busiest[1]))

    assert report(*rows).busiest_day == expected


# --- which rows count ------------------------------------------------------------------------


def test_rows_outside_both_periods_are_ignored() -> None:
    built = report(
        row("2024-08-04", "chat", "1000"),  # the day before the previous week
        row("2024-08-19", "chat", "1000"),  # the day after this week
        row("2023-08-14", "img", "1000"),
        row("2024-08-14", "chat", "1"),
    )

    assert (built.total, built.previous_total) == (D("1"), D("0"))
    assert [line.api_id for line in built.apis] == ["chat"]


def test_rows_on_the_first_and_last_days_of_each_period_count() -> None:
    built = report(
        row("2024-08-05", "chat", "1"),
        row("2024-08-11", "chat", "2"),
        row("2024-08-12", "chat", "4"),
        row("2024-08-18", "chat", "8"),
    )

    assert (built.previous_total, built.total) == (D("3"), D("12"))


@pytest.mark.parametrize(
    ("names", "shown"),
    [
        ({"chat": "Chat completions"}, "Chat completions"),
        ({}, "chat"),
        ({"chat": ""}, "chat"),
        ({"other-api": "Something else"}, "chat"),
    ],
)
def test_an_api_without_a_name_is_shown_by_its_id(names: dict[str, str], shown: str) -> None:
    built = report(row("2024-08-14", "chat", "1"), names=names)

    assert line(built, "chat").name == shown


# --- the API's own total and money -----------------------------------------------------------


@pytest.mark.parametrize("reported_total", [None, "13", "12", "0"])
def test_the_rows_win_over_the_apis_own_total(reported_total: str | None) -> None:
    # The usage client logs a disagreement where the response enters (see test_acedata).
    rows = (row("2024-08-05", "chat", "1"), row("2024-08-14", "chat", "12"))

    built = report(*rows, reported_total=reported_total)

    assert (built.total, built.previous_total) == (D("12"), D("1"))


@pytest.mark.parametrize(
    ("price", "credits", "money"),
    [
        ("0.095215", "100", "9.5215"),
        ("0.095215", "1234.5", "117.5429175"),
        ("0.095215", "0", "0"),
        ("0.095215", "-10", "-0.95215"),
        ("1", "0.000001", "0.000001"),
        (None, "100", None),
    ],
)
def test_a_credit_price_turns_credits_into_money(
    price: str | None, credits: str, money: str | None
) -> None:
    built = report(row("2024-08-14", "chat", "100"), credit_price=price)

    assert built.money(D(credits)) == (None if money is None else D(money))
    assert built.currency == "USD"
    assert built.credit_price == (None if price is None else D(price))


# --- invariants ------------------------------------------------------------------------------

WINDOW_START = WEEK.previous().start - timedelta(days=3)
WINDOW_END = WEEK.end + timedelta(days=3)


def rows_strategy(min_amount: str) -> st.SearchStrategy[list[UsageRow]]:
    amounts = st.decimals(
        min_value=Decimal(min_amount),
        max_value=Decimal("1000000"),
        places=6,
        allow_nan=False,
        allow_infinity=False,
    )
    one_row = st.builds(
        UsageRow,
        day=st.dates(min_value=WINDOW_START, max_value=WINDOW_END),
        api_id=st.sampled_from([f"api-{i}" for i in range(15)]),
        amount=amounts,
    )
    return st.lists(one_row, max_size=80)


def exact(values: list[Decimal]) -> Fraction:
    return sum((Fraction(v) for v in values), Fraction(0))


@given(rows=rows_strategy("-1000"), top=st.integers(1, 12))
def test_every_figure_adds_up_to_the_exact_sum_of_the_rows(rows: list[UsageRow], top: int) -> None:
    built = report(*rows, top=top, names={})
    inside = [r for r in rows if WEEK.start <= r.day <= WEEK.end]
    before = [r for r in rows if WEEK.previous().start <= r.day <= WEEK.previous().end]

    assert Fraction(built.total) == exact([r.amount for r in inside])
    assert Fraction(built.previous_total) == exact([r.amount for r in before])
    rolled_up = built.other.total if built.other else Decimal(0)
    assert sum(line.total for line in built.top) + rolled_up == built.total
    assert sum(built.daily_totals) == built.total
    assert sum(built.previous_daily_totals) == built.previous_total
    assert sum(line.total for line in built.apis) == built.total
    assert sum(line.previous for line in built.apis) == built.previous_total
    per_api: dict[str, Fraction] = defaultdict(Fraction)
    for r in inside:
        per_api[r.api_id] += Fraction(r.amount)
    for api in built.apis:
        assert sum(api.daily) == api.total
        assert Fraction(api.total) == per_api[api.api_id]
        assert len(api.daily) == len(built.days)


@given(rows=rows_strategy("-1000"))
def test_movers_are_the_largest_absolute_changes_in_order(rows: list[UsageRow]) -> None:
    built = report(*rows, names={})

    changes = sorted((abs(line.delta) for line in built.apis if line.delta != 0), reverse=True)
    assert [abs(line.delta) for line in built.movers] == changes[:MOVERS]


@given(rows=rows_strategy("0"), top=st.integers(1, 12))
def test_shares_sum_to_one_when_anything_was_spent(rows: list[UsageRow], top: int) -> None:
    built = report(*rows, top=top, names={})

    if built.total == 0:
        assert all(line.share == 0 for line in built.apis)
        return
    tolerance = Decimal("1e-20")
    assert abs(sum((line.share for line in built.apis), Decimal(0)) - 1) <= tolerance
    rolled_up = built.other.share if built.other else Decimal(0)
    assert abs(sum(line.share for line in built.top) + rolled_up - 1) <= tolerance
    assert all(0 <= line.share <= 1 for line in built.apis)
