"""Why it moved, runway, the history range, and the insights of a report fetched end to end."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import httpx
import pytest

from reportbot.core.insights import (
    UNAVAILABLE,
    compute_insights,
    explain_change,
    explain_lines,
    history_range,
    runway,
    with_insights,
)
from reportbot.core.periods import parse_period
from reportbot.core.report import ApiLine, Report, compute_report
from reportbot.core.usage import Usage, UsageRow
from reportbot.render.insight_text import runway as runway_text
from reportbot.render.insight_text import why
from reportbot.render.templates import render_text
from reportbot.sources.acedata import UsageClient
from reportbot.sources.balance import BalanceClient, read_balance
from tests.fakes.balance_api import BalanceApiServer
from tests.fakes.usage_api import UsageApiServer, usage_row

W33 = parse_period("2024-W33", date(2024, 8, 20))  # Aug 12-18, against W32: Aug 5-11
D = Decimal


def week_report(previous: dict[str, str], current: dict[str, str]) -> Report:
    rows = [UsageRow(W33.start - timedelta(days=7), a, D(v)) for a, v in previous.items()]
    rows += [UsageRow(W33.start, a, D(v)) for a, v in current.items()]
    return compute_report("r", W33, Usage(tuple(rows), {a: a for a in previous | current}))


def with_change(previous: dict[str, str], current: dict[str, str]) -> str:
    report = week_report(previous, current)
    return why(replace(report, insights=compute_insights(report, Usage(()), W33.end)))


@pytest.mark.parametrize(
    ("previous", "current", "sentence"),
    [
        pytest.param(
            # D = 321.75 + 67 + 23.75 = 412.50 = 9.0999% of 4,533; 75% of D = 309.375:
            # Claude alone covers it; 321.75 / 412.50 = 78%
            {"Claude Messages": "1000", "Suno": "3033", "Flux": "500"},
            {"Claude Messages": "1321.75", "Suno": "3100", "Flux": "523.75"},
            "+412.50 credits (+9.1%) vs W32, 78% of it from Claude Messages (+321.75).",
            id="one API explains it",
        ),
        pytest.param(
            # D = 400, target 300: 200 is not enough, 200 + 150 = 350 is; 350 / 400 = 87.5%
            {"A": "1000", "B": "1000", "C": "1000"},
            {"A": "1200", "B": "1150", "C": "1050"},
            "+400.00 credits (+13.3%) vs W32, 88% of it from A (+200.00) and B (+150.00).",
            id="greedy until 75%",
        ),
        pytest.param(
            # D = 400, target 300: 100 + 90 + 80 = 270 < 300, but at most 3 APIs; 270/400 = 67.5%
            {"A": "500", "B": "500", "C": "500", "D": "500", "E": "500"},
            {"A": "600", "B": "590", "C": "580", "D": "570", "E": "560"},
            "+400.00 credits (+16.0%) vs W32, 68% of it from A (+100.00), B (+90.00) "
            "and C (+80.00).",
            id="at most three APIs",
        ),
        pytest.param(
            # D = +100; B moved against it and is not named: 150 / 100 = 150%
            {"A": "1000", "B": "1000"},
            {"A": "1150", "B": "950"},
            "+100.00 credits (+5.0%) vs W32, 150% of it from A (+150.00); "
            "the other APIs together -50.00.",
            id="others moved against it",
        ),
        pytest.param(
            # D = -380 = -23.735% of 1,601; target 285: A's -300 covers it; 300 / 380 = 78.9%
            {"A": "1000", "B": "500", "C": "101"},
            {"A": "700", "B": "400", "C": "121"},
            "-380.00 credits (-23.7%) vs W32, 79% of it from A (-300.00).",
            id="a decrease",
        ),
        pytest.param(
            # the change floor is max(1, 1% of 10,000) = 100 > 50
            {"A": "10000"},
            {"A": "10050"},
            "No notable change vs W32: +50.00 credits (+0.5%).",
            id="below 1% of the previous total",
        ),
        pytest.param(
            # the change floor is max(1 credit, 1% of 20 = 0.20) = 1 > 0.50
            {"A": "20"},
            {"A": "20.50"},
            "No notable change vs W32: +0.50 credits (+2.5%).",
            id="below one credit",
        ),
        pytest.param(
            {},
            {"A": "50"},
            "+50.00 credits vs W32, 100% of it from A (+50.00, new).",
            id="no previous usage",
        ),
    ],
)
def test_the_why_sentence_names_the_apis_that_explain_the_change(
    previous: dict[str, str], current: dict[str, str], sentence: str
) -> None:
    assert with_change(previous, current) == sentence


def test_a_change_spread_thinly_names_no_api() -> None:
    # D = 200 × 5 = 1,000; the noise floor is max(1% of 1,000, 1) = 10 > 5 for every API
    previous = {f"api-{n:03d}": "10" for n in range(200)}
    current = {f"api-{n:03d}": "15" for n in range(200)}
    assert with_change(previous, current) == (
        "+1,000.00 credits (+50.0%) vs W32, spread over many APIs with no single one standing out."
    )


def test_an_explanation_keeps_the_exact_figures() -> None:
    change = explain_change(week_report({"A": "1000", "B": "1000"}, {"A": "1150", "B": "950"}))
    assert (change.delta, change.explained, change.others) == (D(100), D("1.5"), D(-50))
    assert [line.name for line in change.drivers] == ["A"]


SEVEN_DAYS = {date(2024, 8, 12) + timedelta(days=i): D(100 * (i + 1)) for i in range(7)}


@pytest.mark.parametrize(
    ("balance", "threshold", "days", "low", "sentence"),
    [
        # burn = (100 + 200 + … + 700) / 7 = 2,800 / 7 = 400; 3,000 / 400 = 7.5 days
        (
            D(3000),
            14,
            D("7.5"),
            True,
            "Balance 3,000.00 credits: 7.5 days at 400.00 credits a day "
            "(the last 7 days), below the 14-day warning.",
        ),
        (
            D(3000),
            7,
            D("7.5"),
            False,
            "Balance 3,000.00 credits: 7.5 days at 400.00 credits a day (the last 7 days).",
        ),
        # 1,000 / 400 = 2.5; 1,333.33 / 400 = 3.333… shown rounded down
        (
            D("1333.33"),
            None,
            D("3.333325"),
            False,
            "Balance 1,333.33 credits: 3.3 days at 400.00 credits a day (the last 7 days).",
        ),
        (None, 14, None, False, "Balance unavailable."),
    ],
)
def test_runway_is_the_balance_over_the_trailing_seven_day_burn(
    balance: Decimal | None, threshold: int | None, days: Decimal | None, low: bool, sentence: str
) -> None:
    found = runway(balance, SEVEN_DAYS, date(2024, 8, 18), threshold_days=threshold)
    assert (found.burn, found.days, found.low) == (D(400), days, low)
    assert found.window == (date(2024, 8, 12), date(2024, 8, 18))
    assert runway_text(found) == sentence


def test_without_spend_the_runway_says_so_instead_of_dividing_by_zero() -> None:
    found = runway(D(500), {}, date(2024, 8, 18), threshold_days=14)
    assert (found.days, found.low) == (None, False)
    assert runway_text(found) == "Balance 500.00 credits; no spend in the last 7 days."


@pytest.mark.parametrize(
    ("spec", "weeks", "first"),
    [
        ("2024-W33", 8, date(2024, 6, 17)),  # Aug 12 - 56 days
        ("2024-08", 8, date(2024, 6, 6)),  # Aug 1 - 56 days, before July 1
        ("2024-08-15", 8, date(2024, 6, 20)),
        ("2024-08", 2, date(2024, 7, 1)),  # the previous month reaches further back
        ("2024-W33", 0, date(2024, 8, 5)),
    ],
)
def test_the_history_range_covers_the_previous_period_and_the_trailing_weeks(
    spec: str, weeks: int, first: date
) -> None:
    assert history_range(parse_period(spec, date(2024, 9, 3)), weeks) == first


def test_fetching_the_history_leaves_the_period_figures_unchanged() -> None:
    rows = tuple(
        UsageRow(date(2024, 6, 1) + timedelta(days=i), "a", D(i) + D("0.125")) for i in range(80)
    )
    narrow = Usage(tuple(r for r in rows if r.day >= W33.previous().start))
    wide = Usage(tuple(r for r in rows if r.day >= history_range(W33)))
    assert compute_report("r", W33, wide) == compute_report("r", W33, narrow)


TOKEN = "platform-v1-test"


def local_report(balance_api: BalanceApiServer, usage_api: UsageApiServer) -> str:
    """The whole path against real local servers: history fetched with the period, one request."""
    http = httpx.Client(timeout=5)
    usage = UsageClient(http, usage_api.url, TOKEN, sleep=lambda _: None).fetch(
        history_range(W33), W33.end, ZoneInfo("UTC")
    )
    report = compute_report("r", W33, usage)
    balance = read_balance(
        BalanceClient(http, balance_api.url, TOKEN, max_attempts=2, sleep=lambda _: None)
    )
    return render_text(with_insights(report, usage, date(2024, 8, 19), balance=balance))


def steady_rows() -> list[dict[str, object]]:
    """100 credits a day from Jun 17 to Aug 18, and 400 on Thu Aug 15."""
    start = date(2024, 6, 17)
    return [
        usage_row(
            (start + timedelta(days=i)).isoformat(),
            "chat",
            "400" if start + timedelta(days=i) == date(2024, 8, 15) else "100",
        )
        for i in range(63)
    ]


def test_a_report_fetched_with_its_history_shows_every_insight(usage_api: UsageApiServer) -> None:
    usage_api.serve_rows(steady_rows(), {"chat": "Claude Messages"})
    with BalanceApiServer() as balance_api:
        balance_api.applications = [{"remaining_amount": "700"}, {"remaining_amount": "1100"}]
        text = local_report(balance_api, usage_api)
    assert len(usage_api.requests) == 1
    assert usage_api.requests[0].param("created_at_from") == "2024-06-17T00:00:00Z"
    assert "+300.00 credits (+42.9%) vs W32, 100% of it from Claude Messages (+300.00)." in text
    assert "Thu Aug 15: 400.00 credits, 4.0× a usual Thursday (100.00)" in text
    assert "Thu Aug 15: Claude Messages 400.00 credits, 4.0× a usual Thursday" in text
    # burn (6 × 100 + 400) / 7 = 142.857…; 1,800 / 142.857… = 12.6 days
    assert "Balance 1,800.00 credits: 12.6 days at 142.86 credits a day" in text


def test_a_failing_balance_call_still_sends_the_report(usage_api: UsageApiServer) -> None:
    usage_api.serve_rows(steady_rows())
    with BalanceApiServer() as balance_api:
        balance_api.fail_next(403)
        text = local_report(balance_api, usage_api)
    assert "Runway       Balance unavailable." in text
    assert "Total        1,000.00 credits" in text


def test_an_unavailable_balance_is_a_runway_without_figures() -> None:
    report = week_report({"A": "1"}, {"A": "2"})
    found = compute_insights(report, Usage(()), W33.end, balance=UNAVAILABLE)
    assert found.runway is not None and found.runway.balance is None
    assert compute_insights(report, Usage(()), W33.end).runway is None


def test_a_correction_is_explained_by_the_lines_that_moved_since_they_were_sent() -> None:
    # sent: Kling 1,000.00 of 8,899.42; now 1,221.13: +221.13 = +2.48% of what was sent
    lines = [
        ApiLine("kling", "Kling Videos", D("1221.13"), D("1000"), (), D(0)),
        ApiLine("chat", "Claude Messages", D("7899.42"), D("7899.42"), (), D(0)),
    ]
    change = explain_lines(lines, D("8899.42"))
    assert change.notable and [d.name for d in change.drivers] == ["Kling Videos"]
    assert (change.delta, change.explained) == (D("221.13"), D(1))
    assert f"{change.delta_pct:.1f}" == "2.5"
