"""After a report: corrections of a period already sent, and alerts when a rule fires.

    corrections   a sent period is fetched again; where its total moved by more than
                  ``correction_threshold`` from what a destination was told, that
                  destination gets one correction (Slack: a reply in the report's thread;
                  email: "Correction: …"), keyed in the ledger by the new figures, so each
                  change is corrected once, and a later change again
    alerts        ``kind = "alert"``: each fired rule is sent once per its key (the month
                  for budget and runway, the day for spikes); nothing fires, nothing is sent

Both go through the one delivery loop, so they are exactly-once like reports.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING

from reportbot.core.alerts import fired_rules
from reportbot.core.corrections import Said, correction
from reportbot.delivery.loop import DeliveryLoop, Outcome

if TYPE_CHECKING:
    from reportbot.config import ReportConfig
    from reportbot.core.report import Report
    from reportbot.ledger.rows import Delivery

CORRECTION_WINDOW = timedelta(days=31)  # a period is re-checked for a month after it ends
FIX = "~fix-"  # period key of a correction: 2024-W33~fix-1a2b3c4d5e


def in_correction_window(period_end: date, today: date) -> bool:
    return today <= period_end + CORRECTION_WINDOW


def send_corrections(loop: DeliveryLoop, report: ReportConfig, now: Report) -> list[Outcome]:
    """One correction per destination whose last figures moved beyond the threshold."""
    key = now.period.key
    rows = loop.ledger.sent_like(report.name, key)
    outcomes = []
    for destination in report.destinations:
        mine = [r for r in rows if r.destination == destination]
        original = next((r for r in mine if r.period == key), None)
        fixes = [r for r in mine if r.period.startswith(key + FIX)]
        last = fixes[-1] if fixes else original
        told = Said.from_json(last.summary) if last else None
        fix = correction(told, now, report.correction_threshold) if told else None
        if fix is None:
            why = "already sent and corrected" if fixes else "already sent"
            outcomes.append(Outcome(destination, "skipped", why))
            continue
        from reportbot.render.notice import correction_notice  # Jinja: not before the fetch

        notice = correction_notice(fix)
        outcomes.append(
            loop.deliver(
                report,
                notice,
                destination,
                force=False,
                key=f"{key}{FIX}{fix.now_said.digest}",
                reply_to=_thread_of(original),
                summary=fix.now_said.to_json(),
            )
        )
    return outcomes


def send_alerts(loop: DeliveryLoop, report: ReportConfig, built: Report) -> list[Outcome]:
    """Each rule that fires, once per its key, to every destination."""
    from reportbot.render.notice import alert_notice  # Jinja: not before the fetch

    assert built.insights is not None
    outcomes = []
    for fired in fired_rules(built.insights, report.spike_factor):
        notice = alert_notice(
            built, fired, spike_factor=report.spike_factor, mentions=report.mention
        )
        for destination in report.destinations:
            outcomes.append(loop.deliver(report, notice, destination, force=False, key=fired.key))
    return outcomes


def _thread_of(row: Delivery | None) -> str | None:
    """The Slack ts a report was sent as (its receipt, before any note), for a reply."""
    if row is None or not row.destination.startswith("slack:") or not row.receipt:
        return None
    ts = row.receipt.split(" ", 1)[0]
    return ts if ts.replace(".", "", 1).isdigit() else None
