"""Alert rules: which fire for a report's insights, each with the key that dedups it.

Pure. A rule fires at most once per key: the calendar month for the budget and the
runway, the day for a spike (all spikes of one day in one alert). The ledger remembers the
keys (as the period of a delivery row), so a rule that keeps firing every hour posts once.

    budget   the month's projected spend exceeds ``monthly_budget``
    spike    a day (total or one API) at ``spike_factor`` × its usual weekday level or more
    runway   the balance lasts fewer than ``runway_days`` days at the last 7 days' burn
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from reportbot.core.anomalies import Anomaly, spikes
from reportbot.core.insights import Insights


@dataclass(frozen=True)
class Fired:
    rule: str  # "budget", "spike" or "runway"
    key: str  # the dedup key, e.g. "alert:budget:2024-08"
    anomalies: tuple[Anomaly, ...] = ()  # the spikes, for "spike"


def fired_rules(insights: Insights, spike_factor: Decimal) -> list[Fired]:
    """The rules that fire for these insights, budget first."""
    fired = []
    pacing = insights.pacing
    if pacing is not None and pacing.over_budget:
        fired.append(Fired("budget", f"alert:budget:{pacing.month.key}"))
    by_day: dict[str, list[Anomaly]] = {}
    for spike in spikes(insights.anomalies, spike_factor):
        by_day.setdefault(spike.day.isoformat(), []).append(spike)
    for day, found in sorted(by_day.items()):
        fired.append(Fired("spike", f"alert:spike:{day}", tuple(found)))
    runway = insights.runway
    if runway is not None and runway.low:
        month = runway.window[1].strftime("%Y-%m")
        fired.append(Fired("runway", f"alert:runway:{month}"))
    return fired
