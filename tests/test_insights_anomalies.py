"""Weekday anomalies by median and MAD, with hand-computed thresholds."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from reportbot.core.anomalies import AnomalyRule, check_day, find_anomalies, spikes
from reportbot.core.series import mad, median
from reportbot.core.usage import UsageRow
from reportbot.render.insight_text import anomaly

D = Decimal
THURSDAY = date(2024, 8, 15)
SINCE = THURSDAY - timedelta(weeks=8)


def thursdays(history: list[str], today: str) -> dict[date, Decimal]:
    """``history`` on the 8 Thursdays before Aug 15 (oldest first), ``today`` on Aug 15."""
    series = {THURSDAY - timedelta(weeks=8 - n): D(v) for n, v in enumerate(history)}
    return series | {THURSDAY: D(today)}


@pytest.mark.parametrize(
    ("values", "middle", "spread"),
    [
        (["5"], D(5), D(0)),
        (["1", "3", "2"], D(2), D(1)),
        (["1", "2", "3", "4"], D("2.5"), D(1)),  # |deviations| 1.5 .5 .5 1.5 -> 1
        (["50", "60", "80", "100", "100", "120", "140", "150"], D(100), D(30)),
    ],
)
def test_median_and_mad_are_exact(values: list[str], middle: Decimal, spread: Decimal) -> None:
    numbers = [D(v) for v in values]
    assert (median(numbers), mad(numbers)) == (middle, spread)


FLAT = ["100"] * 8
NOISY = ["60", "140", "80", "120", "100", "50", "150", "100"]  # median 100, MAD 30


@pytest.mark.parametrize(
    ("history", "today", "threshold"),
    [
        # flat: MAD 0, so the floor max(15% × 100, 1) = 15 rules: 3.5 × 15 = 52.5
        pytest.param(FLAT, "110", None, id="flat, +10% is noise"),
        pytest.param(FLAT, "152.5", None, id="flat, exactly at the threshold"),
        pytest.param(FLAT, "152.51", D("52.5"), id="flat, just above"),
        pytest.param(FLAT, "47.49", D("52.5"), id="flat, a drop"),
        # noisy: 30 × 1.4826 = 44.478 > 15: 3.5 × 44.478 = 155.673
        pytest.param(NOISY, "255.673", None, id="noisy, at the threshold"),
        pytest.param(NOISY, "255.68", D("155.6730"), id="noisy, above"),
        pytest.param(NOISY, "200", None, id="noisy, twice the median is noise here"),
        # tiny: the floor is 1 credit (15% of 2 is 0.30): 3.5 × 1 = 3.5
        pytest.param(["2"] * 8, "5.5", None, id="tiny, at the threshold"),
        pytest.param(["2"] * 8, "5.51", D("3.5"), id="tiny, above"),
    ],
)
def test_a_day_is_anomalous_beyond_k_times_the_scaled_mad_or_the_floor(
    history: list[str], today: str, threshold: Decimal | None
) -> None:
    found = check_day(thursdays(history, today), THURSDAY, since=SINCE, rule=AnomalyRule())
    assert (found[2] if found else None) == threshold


def test_days_without_rows_count_as_zero_in_the_history() -> None:
    # history 0 0 0 0 100 100 100 100: median 50, MAD 50 -> 3.5 × 74.13 = 259.455
    series = thursdays(["0"] * 4 + ["100"] * 4, "300")
    series = {d: v for d, v in series.items() if v}
    assert check_day(series, THURSDAY, since=SINCE, rule=AnomalyRule()) is None
    series[THURSDAY] = D("309.46")
    assert check_day(series, THURSDAY, since=SINCE, rule=AnomalyRule()) is not None


@pytest.mark.parametrize(("weeks", "flagged"), [(2, False), (3, True)])
def test_a_weekday_needs_three_weeks_of_history(weeks: int, flagged: bool) -> None:
    series = thursdays(FLAT, "1000")
    since = THURSDAY - timedelta(weeks=weeks)
    found = check_day(series, THURSDAY, since=since, rule=AnomalyRule())
    assert (found is not None) is flagged


def rows_for(amounts: dict[tuple[date, str], str]) -> list[UsageRow]:
    return [UsageRow(day, api, D(v)) for (day, api), v in amounts.items()]


def steady(api: str, level: str, days: int = 63) -> dict[tuple[date, str], str]:
    return {(SINCE + timedelta(days=i), api): level for i in range(days)}


WEEK = [THURSDAY - timedelta(days=3) + timedelta(days=i) for i in range(7)]  # Mon Aug 12..


def test_anomalies_are_found_in_total_and_per_api_with_their_size() -> None:
    amounts = steady("chat", "621.06") | steady("video", "10")
    amounts[(THURSDAY, "video")] = "1490.56"  # total 2,111.62 = 3.4× 621.06 + 10 = 631.06
    found = find_anomalies(
        rows_for(amounts), WEEK, {"video": "Kling Videos"}, since=SINCE, today=date(2024, 8, 19)
    )
    assert [anomaly(a) for a in found] == [
        "Thu Aug 15: 2,111.62 credits, 3.3× a usual Thursday (631.06)",
        "Thu Aug 15: Kling Videos 1,490.56 credits, 149.1× a usual Thursday (10.00)",
    ]
    assert [a.api_id for a in spikes(found, D(100))] == ["video"]
    assert [a.api_id for a in spikes(found, D(3))] == [None, "video"]


def test_only_complete_days_are_checked() -> None:
    amounts = steady("chat", "100")
    amounts[(THURSDAY, "chat")] = "5"  # today's partial spend is not a drop
    assert find_anomalies(rows_for(amounts), WEEK, {}, since=SINCE, today=THURSDAY) == ()


def test_a_new_api_is_not_an_anomaly_but_a_new_total_level_is() -> None:
    amounts = steady("chat", "100") | {(THURSDAY, "beta"): "400"}
    found = find_anomalies(rows_for(amounts), WEEK, {}, since=SINCE, today=date(2024, 8, 19))
    assert [(a.api_id, a.amount) for a in found] == [(None, D(500))]


def test_a_total_with_no_usual_level_says_so() -> None:
    amounts = {(THURSDAY, "beta"): "40"}
    found = find_anomalies(rows_for(amounts), WEEK, {}, since=SINCE, today=date(2024, 8, 19))
    assert [anomaly(a) for a in found] == ["Thu Aug 15: 40.00 credits, usually none on a Thursday"]


def test_a_steady_but_noisy_account_has_no_anomaly() -> None:
    amounts = {
        (SINCE + timedelta(days=i), "chat"): f"{100 + (i * 37) % 21 - 10}" for i in range(63)
    }
    assert find_anomalies(rows_for(amounts), WEEK, {}, since=SINCE, today=date(2024, 8, 19)) == ()
