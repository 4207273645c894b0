"""The lean sums (reportbot.core.period_sums, anomalies.daily_grid, rows by column) give the
figures of the plain computation, to the digit and the exponent.

The reference below is the computation as it was before the sums were made lean: a new
Decimal ``0 + a + …`` per (API, day) cell, dicts of days per API, three passes over the rows.
Every report, its insights and its three renderings are compared as written (``repr`` of each
Decimal, the text, the Slack blocks, the CSV bytes), on odd amounts: ``1E+3``, ``-0``,
``0E-5``, ``1.000``, 40- and 90-digit amounts, pico amounts, refunds, duplicate rows, rows
outside both periods, in the default context and in contexts that round.
"""

from __future__ import annotations

import decimal
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reportbot.core import period_sums as sums_module
from reportbot.core.anomalies import Anomaly, AnomalyRule, _scan
from reportbot.core.forecast import forecast_month
from reportbot.core.insights import (
    Insights,
    explain_change,
    history_range,
    pacing_month,
    runway,
    with_insights,
)
from reportbot.core.periods import Period, parse_period
from reportbot.core.report import (
    EXACT_DIGITS,
    ApiLine,
    Report,
    _movers,
    _roll_up,
    _share,
    compute_report,
)
from reportbot.core.series import daily_totals
from reportbot.core.usage import Usage, UsageRow, UsageRows
from reportbot.render.csv_export import usage_csv
from reportbot.render.slack import slack_messages
from reportbot.render.templates import render_text

ZERO = Decimal(0)
W33 = parse_period("2024-W33", date(2024, 8, 20))  # Aug 12-18, against W32: Aug 5-11
SINCE = history_range(W33)  # 2024-06-17
D = Decimal

# --- the reference: the computation before the sums were made lean -----------------------


def reference_report(name: str, period: Period, usage: Usage, top: int = 3) -> Report:
    with decimal.localcontext(prec=EXACT_DIGITS):
        previous = period.previous()
        current_sums, previous_sums = _reference_sums(usage.rows, period, previous)
        days = tuple(period.days())
        total = sum((sum(d.values(), ZERO) for d in current_sums.values()), ZERO)
        lines = []
        for api_id in current_sums.keys() | previous_sums.keys():
            by_day = current_sums.get(api_id, {})
            amount = sum(by_day.values(), ZERO)
            lines.append(
                ApiLine(
                    api_id=api_id,
                    name=usage.api_names.get(api_id) or api_id,
                    total=amount,
                    previous=sum(previous_sums.get(api_id, {}).values(), ZERO),
                    daily=tuple(by_day.get(day, ZERO) for day in days),
                    share=_share(amount, total),
                )
            )
        lines.sort(key=lambda line: (-line.total, -line.previous, line.name, line.api_id))
        used = [line for line in lines if line.total != 0]
        return Report(
            name=name,
            period=period,
            previous_period=previous,
            timezone="UTC",
            days=days,
            apis=tuple(lines),
            top=tuple(used[:top]),
            other=_roll_up(used[top:], days, total),
            other_count=len(used[top:]),
            stopped=tuple(line for line in lines if line.trend == "stopped"),
            movers=tuple(_movers(lines)),
            total=total,
            previous_total=sum((sum(d.values(), ZERO) for d in previous_sums.values()), ZERO),
            daily_totals=_reference_columns(current_sums, days),
            previous_daily_totals=_reference_columns(previous_sums, tuple(previous.days())),
        )


Sums = dict[str, dict[date, Decimal]]


def _reference_sums(
    rows: Iterable[UsageRow], current: Period, previous: Period
) -> tuple[Sums, Sums]:
    sums: tuple[Sums, Sums] = ({}, {})
    for day, api_id, amount in rows:
        if current.start <= day <= current.end:
            target = sums[0]
        elif previous.start <= day <= previous.end:
            target = sums[1]
        else:
            continue
        by_day = target.setdefault(api_id, {})
        by_day[day] = by_day.get(day, ZERO) + amount
    return sums


def _reference_columns(sums: Sums, days: tuple[date, ...]) -> tuple[Decimal, ...]:
    totals = dict.fromkeys(days, ZERO)
    for by_day in sums.values():
        for day, amount in by_day.items():
            totals[day] += amount
    return tuple(totals.values())


def reference_anomalies(
    rows: Iterable[UsageRow],
    days: Sequence[date],
    names: Mapping[str, str],
    since: date,
    today: date,
    rule: AnomalyRule,
) -> tuple[Anomaly, ...]:
    checked = [d for d in days if since <= d < today]
    if not checked:
        return ()
    span = (checked[-1] - since).days + 1
    totals = [ZERO] * span
    per_api: dict[str, list[Decimal]] = {}
    index_of = {since + timedelta(days=i): i for i in range(span)}
    for day, api_id, amount in rows:
        index = index_of.get(day)
        if index is not None:
            totals[index] += amount
            values = per_api.setdefault(api_id, [ZERO] * span)
            values[index] += amount
    found: list[Anomaly] = []
    with decimal.localcontext(prec=EXACT_DIGITS):
        found += _scan(totals, None, "", checked, since, rule, per_api=False)
        for api_id, values in per_api.items():
            found += _scan(values, api_id, names.get(api_id) or api_id, checked, since, rule)
    found.sort(key=lambda a: (a.day, a.api_id is not None, -abs(a.departure), a.name))
    return tuple(found)


def reference_insights(report: Report, usage: Usage, today: date, balance: Decimal) -> Report:
    rule = AnomalyRule()
    since = history_range(report.period, rule.weeks)
    month, as_of = pacing_month(report.period, today)
    series = daily_totals(usage.rows, since, max(since, as_of - timedelta(days=1)))
    found = reference_anomalies(usage.rows, report.days, usage.api_names, since, today, rule)
    pacing = forecast_month(month, series, as_of=as_of, since=since, weeks=rule.weeks)
    insights = Insights(
        change=explain_change(report),
        anomalies=found,
        pacing=pacing,
        runway=runway(balance, series, as_of - timedelta(days=1)),
    )
    return replace(report, insights=insights)


# --- the comparison ------------------------------------------------------------------------


def outputs(report: Report) -> tuple[Any, ...]:
    return repr(report), render_text(report), slack_messages(report), usage_csv(report)


def both(
    rows: Sequence[UsageRow],
    names: Mapping[str, str],
    today: date,
    context: decimal.Context | None = None,
) -> None:
    """The lean and the reference computation agree, with rows as a tuple and by column
    (computed in ``context``, rendered in the default one)."""
    plain = Usage(tuple(rows), dict(names))
    with decimal.localcontext(context or decimal.getcontext()):
        expected = reference_insights(reference_report("r", W33, plain), plain, today, D(500))
        reports = []
        for usage in (plain, Usage(UsageRows.of(rows), dict(names))):
            report = compute_report("r", W33, usage, top=3)
            reports.append(with_insights(report, usage, today, balance=D(500)))
    for report in reports:
        assert outputs(report) == outputs(expected)


ODD = [
    "1E+3",
    "5E+2",
    "-0",
    "-0.00",
    "0E-5",
    "0",
    "1.000",
    "-1.000",
    "2.50",
    "-3.25",
    "0.000000000001",
    "1E-12",
    "-0.000000000001",
    "999999999999999.999999999999",
    "1." + "0" * 38 + "1",
    "-7." + "3" * 38,  # 40 digits
    "1." + "0" * 88 + "1",
    "2." + "9" * 88,  # 90 digits
    "12345678901234.5678901234567890123",
    "1.5E+10",
    "-2E+1",
]
DAYS = [SINCE - timedelta(days=3) + timedelta(days=i) for i in range((W33.end - SINCE).days + 7)]
APIS = ["a", "b", "c", "d"]
NAMES = {"a": "Chat", "b": "Chat", "c": "Images"}  # two APIs of one name; "d" has none

AMOUNTS = st.one_of(
    st.sampled_from(ODD),
    st.decimals(min_value=-1000, max_value=10**6, places=3, allow_nan=False).map(str),
    st.integers(min_value=0, max_value=40).map(str),
)
ROW = st.builds(
    lambda day, api, amount: UsageRow(day, api, D(amount)),
    st.sampled_from(DAYS),
    st.sampled_from(APIS),
    AMOUNTS,
)


def weekly(amounts: dict[str, str], spikes: dict[tuple[date, str], str]) -> list[UsageRow]:
    """Every day since SINCE: each API at its amount, some (day, API) cells at another."""
    rows = []
    for day in (SINCE + timedelta(days=i) for i in range((W33.end - SINCE).days + 1)):
        for api_id, amount in amounts.items():
            rows.append(UsageRow(day, api_id, D(spikes.get((day, api_id), amount))))
    return rows


THURSDAY = date(2024, 8, 15)


@pytest.mark.parametrize(
    "rows",
    [
        pytest.param([], id="no rows"),
        pytest.param(weekly({"a": "1E+3", "b": "-0"}, {(THURSDAY, "a"): "5E+3"}), id="1E+3 spike"),
        pytest.param(weekly({"a": "10.000", "c": "0E-5"}, {(THURSDAY, "a"): "90.0"}), id="1.000"),
        pytest.param(weekly({"a": ODD[14], "b": ODD[16]}, {(THURSDAY, "b"): ODD[17]}), id="long"),
        pytest.param(weekly({"a": "0.000000000001", "d": "-2.5"}, {}), id="pico and refunds"),
        pytest.param(
            weekly({"a": "7", "b": "7"}, {(THURSDAY, "a"): "70", (THURSDAY, "b"): "70"}),
            id="ties between two APIs of one name",
        ),
        pytest.param(weekly({"a": "3", "b": "1E+1"}, {}) * 2, id="every row twice"),
        pytest.param([UsageRow(d, "a", D("1E+3")) for d in DAYS], id="rows outside both"),
    ],
)
@pytest.mark.parametrize("today", [date(2024, 8, 20), THURSDAY, W33.start, date(2024, 8, 1)])
def test_odd_rows_give_the_figures_of_the_plain_computation(
    rows: list[UsageRow], today: date
) -> None:
    both(rows, NAMES, today)


@given(st.lists(ROW, max_size=60))
def test_drawn_rows_give_the_figures_of_the_plain_computation(rows: list[UsageRow]) -> None:
    both(rows, NAMES, date(2024, 8, 19))


@pytest.mark.parametrize(
    "context",
    [
        decimal.Context(prec=12),  # the insights' sums round, the report's do not
        decimal.Context(prec=3),
        decimal.Context(rounding=decimal.ROUND_FLOOR),  # an exact 0 is -0
        decimal.Context(prec=100, rounding=decimal.ROUND_DOWN),
    ],
    ids=["12 digits", "3 digits", "floor", "100 digits"],
)
@given(st.lists(ROW, max_size=40))
def test_a_context_that_rounds_rounds_as_before(
    context: decimal.Context, rows: list[UsageRow]
) -> None:
    both(rows, NAMES, date(2024, 8, 19), context)


def test_a_one_row_cell_keeps_the_rows_decimal_when_it_would_be_written_the_same() -> None:
    plain, odd = D("12.50"), D("1E+3")
    rows = [UsageRow(W33.start, "a", plain), UsageRow(W33.start, "b", odd)]
    report = compute_report("r", W33, Usage(UsageRows.of(rows)))
    by_id = {line.api_id: line for line in report.apis}
    assert by_id["a"].daily[0] is plain  # no Decimal of its own
    assert repr(by_id["b"].daily[0]) == "Decimal('1000')"  # 0 + 1E+3, as before


def test_totals_past_the_precision_in_any_order_are_summed_the_plain_way(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls = []
    careful = sums_module.careful_sums
    monkeypatch.setattr(sums_module, "careful_sums", lambda *a: calls.append(1) or careful(*a))
    long_rows = [UsageRow(W33.start + timedelta(days=i), "a", D(ODD[16])) for i in range(3)]
    both(long_rows, {}, date(2024, 8, 19))
    assert calls  # 90 digits: the order of a sum could matter, so it is the plain order
    calls.clear()
    both([UsageRow(W33.start, "a", D("2.5"))], {}, date(2024, 8, 19))
    assert not calls


def test_a_total_that_rounds_only_in_the_order_the_rows_named_its_days_rounds_as_before() -> None:
    # X + Y needs 81 digits, X - Y does not: summed X, Y, -Y (the order the rows first name
    # the days) the total rounds to X - 1E-66; summed by day (X, -Y, Y) it would be X.
    x, y = "99999999999999." + "9" * 66, "0." + "0" * 65 + "2"
    first, second, third = (W33.start + timedelta(days=i) for i in range(3))
    rows = [UsageRow(first, "a", D(x)), UsageRow(third, "a", D(y)), UsageRow(second, "a", -D(y))]
    both(rows, {}, date(2024, 8, 19))
    assert str(compute_report("r", W33, Usage(tuple(rows))).total) == x[:-1] + "8"


# --- rows by column -------------------------------------------------------------------------


def test_rows_by_column_read_compare_and_hash_as_their_tuple() -> None:
    rows = (
        UsageRow(date(2024, 8, 12), "a", D("1.5")),
        UsageRow(date(2024, 8, 13), "b", D("-0")),
        UsageRow(date(2024, 8, 12), "a", D("1E+3")),
    )
    columns = UsageRows.of(rows)
    assert columns == rows and rows == columns and columns != rows[:2]
    assert hash(columns) == hash(rows)
    assert list(columns) == list(rows) and all(type(r) is UsageRow for r in columns)
    assert columns[2] == rows[2] and columns[-1] == rows[-1] and columns[1:] == rows[1:]
    assert [str(r.amount) for r in columns] == ["1.5", "-0", "1E+3"]
    assert len(columns) == 3 and columns.api_ids == ("a", "b")
    assert UsageRows.of(columns) is columns
    assert repr(columns) == f"UsageRows({rows!r})"
    with pytest.raises(IndexError):
        columns[3]
    with pytest.raises(ValueError, match="differ in length"):
        UsageRows((), (), columns.day_at, columns.id_at, [])
