"""The insights as sentences for people: plain text, escaped later by each output's template.

Registered as Jinja filters (``r|why``, ``a|anomaly``, ``p|pacing``, ``w|runway``), so every
output says the same thing in the same words.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from typing import Any

from reportbot.core.anomalies import Anomaly
from reportbot.core.forecast import Pacing
from reportbot.core.insights import Runway
from reportbot.core.report import ApiLine, Report

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def _credits(value: Decimal) -> str:
    return f"{value:,.2f}"


def _day(value: date) -> str:
    return f"{value:%a %b} {value.day}"


def _percent(ratio: Decimal) -> str:
    """A ratio as a whole percent, halves rounded up: 0.775 -> '78%'."""
    return f"{(ratio * 100).quantize(Decimal(1), ROUND_HALF_UP):,}%"


def _names(lines: Sequence[ApiLine]) -> str:
    parts = [
        f"{line.name} ({line.delta:+,.2f}{', new' if line.trend == 'new' else ''})"
        for line in lines
    ]
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def why(report: Report) -> str:
    """'+412.50 credits (+9.1%) vs W34, 78% of it from Claude Messages (+321.75)'."""
    if report.insights is None:
        return ""
    change = report.insights.change
    versus = f"vs {report.previous_period.short_label}"
    pct = "" if change.delta_pct is None else f" ({change.delta_pct:+,.1f}%)"
    moved = f"{change.delta:+,.2f} credits{pct} {versus}"
    if not change.notable:
        return f"No notable change {versus}: {change.delta:+,.2f} credits{pct}."
    if not change.drivers:
        return f"{moved}, spread over many APIs with no single one standing out."
    sentence = f"{moved}, {_percent(change.explained)} of it from {_names(change.drivers)}"
    if change.explained > 1:
        sentence += f"; the other APIs together {change.others:+,.2f}"
    return sentence + "."


def anomaly(item: Anomaly) -> str:
    """'Thu Aug 15: 2,111.62 credits, 3.4× a usual Thursday' (an API's name after the day)."""
    what = f"{item.name} " if item.api_id is not None else ""
    head = f"{_day(item.day)}: {what}{_credits(item.amount)} credits"
    weekday = WEEKDAYS[item.day.weekday()]
    ratio = item.ratio
    if ratio is None:
        return f"{head}, usually none on a {weekday}"
    size = ratio.quantize(Decimal("0.1"), ROUND_HALF_UP)
    return f"{head}, {size}× a usual {weekday} ({_credits(item.usual)})"


def pacing(item: Pacing) -> str:
    """Month-to-date and projection, against the budget when there is one."""
    name = f"{item.month.start:%B}"
    if item.complete:
        text = f"{name}: {_credits(item.spent)} credits"
    else:
        days = f"{item.elapsed_days} day{'' if item.elapsed_days == 1 else 's'}"
        text = (
            f"{name} so far: {_credits(item.spent)} credits in {days}; "
            f"on pace for {_credits(item.projected)} by {item.month.end:%b} {item.month.end.day}"
        )
    if item.budget is None or (share := item.share) is None:
        return text + "."
    text += f", {_percent(share)} of the {_credits(item.budget)} budget"
    if item.runs_out is None:
        return text + "."
    if item.exhausted:
        return text + f"; the budget was used up on {_day(item.runs_out)}."
    return text + f"; at this pace it runs out on {_day(item.runs_out)}."


def runway(item: Runway) -> str:
    """'Balance 11,250.00 credits: 8.6 days at 1,306.80 credits a day (the last 7 days)'."""
    if item.balance is None:
        return "Balance unavailable."
    head = f"Balance {_credits(item.balance)} credits"
    days = item.days
    if days is None:
        return f"{head}; no spend in the last 7 days."
    lasting = days.quantize(Decimal("0.1"), ROUND_DOWN)
    text = f"{head}: {lasting:,} days at {_credits(item.burn)} credits a day (the last 7 days)"
    if item.low:
        text += f", below the {item.threshold_days}-day warning"
    return text + "."


FILTERS: dict[str, Any] = {"why": why, "anomaly": anomaly, "pacing": pacing, "runway": runway}
