"""What ``reportbot list`` (and a bare ``run``) show, as text lines."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click

from reportbot.cli.words import plural
from reportbot.core.cron import describe
from reportbot.core.periods import resolve_period
from reportbot.ledger.reader import LedgerView
from reportbot.service.triggers import is_due, local_time, next_run

if TYPE_CHECKING:
    from reportbot.config import Config, ReportConfig


def report_menu(config: Config) -> list[str]:
    """What a bare ``run`` prints: each report, its period and destinations."""
    width = max(len(name) for name in config.reports)
    lines = [f"{plural(len(config.reports), 'report')} configured:"]
    for report in config.reports.values():
        name = click.style(report.name.ljust(width), bold=True)
        lines.append(f"  {name}  {report.period:<5}  {', '.join(report.destinations)}")
    return [*lines, "Run one with: reportbot run NAME [--dry-run], or all with --all"]


def list_lines(config_path: Path | None) -> Iterator[str]:
    """``reportbot list``: each report and its facts, reading nothing but the reports file
    and the ledger (reportbot.environment, reportbot.ledger.reader)."""
    from reportbot import environment
    from reportbot.config import read_reports
    from reportbot.ledger.reader import read_ledger

    reports = read_reports(config_path)
    now = datetime.now(UTC)
    with read_ledger(environment.database_url()) as ledger:
        for report in reports.values():
            yield f"{click.style(report.name, bold=True)}  ({report.period})"
            for label, value in report_facts(report, ledger, now).items():
                yield f"  {label:<10} {value}"


def report_facts(report: ReportConfig, ledger: LedgerView | None, now: datetime) -> dict[str, str]:
    fire = next_run(report, now)
    latest = resolve_period(report, None, now)
    owed = "" if is_due(report, latest, now) else " (not due yet)"
    status = ledger.status(report.name, latest.key) if ledger else {}
    last = ledger.last_delivery(report.name) if ledger else None
    expression = report.schedule_expression
    return {
        "schedule": f"{describe(report.cron)} ({report.timezone}); crontab {expression}",
        "next run": local_time(fire, report.zone) if fire else "never",
        "sends to": ", ".join(report.destinations),
        "latest": f"{latest.key}{owed}: {_sent_summary(report.destinations, status)}",
        "last sent": (
            f"{last.period} to {last.destination}, {local_time(last.updated_at, report.zone)}"
            if last
            else "never"
            if ledger
            else "never (no ledger yet)"
        ),
    }


def _sent_summary(destinations: tuple[str, ...], status: dict[str, str]) -> str:
    counts = Counter(status.get(d, "not sent") for d in destinations)
    return ", ".join(f"{n} {state}" for state, n in sorted(counts.items()))
