"""What ``reportbot list`` and ``reportbot history`` show, as text lines."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime

import click

from reportbot.cli.words import plural
from reportbot.config import Config, ReportConfig
from reportbot.core.cron import describe
from reportbot.core.periods import resolve_period
from reportbot.ledger import SKIPPED
from reportbot.ledger.rows import Delivery
from reportbot.ledger.schema import sqlite_path
from reportbot.ledger.store import Ledger
from reportbot.service.triggers import is_due, local_time, next_run

HISTORY_COLUMNS = ("report", "period", "destination", "status", "attempts", "when (UTC)", "error")
ERROR_WIDTH = 72
STATUS_COLUMN = HISTORY_COLUMNS.index("status")
STATUS_COLOURS = {"sent": "green", "failed": "red", "sending": "yellow"}


@contextmanager
def existing_ledger(url: str) -> Iterator[Ledger | None]:
    """The ledger, or None when its SQLite file does not exist (it is not created)."""
    path = sqlite_path(url)
    if path is not None and not path.exists():
        yield None
        return
    with Ledger(url) as ledger:
        yield ledger


def report_menu(config: Config) -> list[str]:
    """What a bare ``run`` prints: each report, its period and destinations."""
    width = max(len(name) for name in config.reports)
    lines = [f"{plural(len(config.reports), 'report')} configured:"]
    for report in config.reports.values():
        name = click.style(report.name.ljust(width), bold=True)
        lines.append(f"  {name}  {report.period:<5}  {', '.join(report.destinations)}")
    return [*lines, "Run one with: reportbot run NAME [--dry-run], or all with --all"]


def report_facts(report: ReportConfig, ledger: Ledger | None, now: datetime) -> dict[str, str]:
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


def _one_line(text: str, width: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def history_lines(rows: Sequence[Delivery]) -> list[str]:
    """The ledger rows as an aligned table, errors cut to one line."""
    table = [HISTORY_COLUMNS] + [
        (
            r.report,
            r.period,
            r.destination,
            _status(r),
            str(r.attempts),
            f"{r.updated_at:%Y-%m-%d %H:%M}",
            _one_line(_note(r), ERROR_WIDTH),
        )
        for r in rows
    ]
    widths = [max(len(row[i]) for row in table) for i in range(len(HISTORY_COLUMNS))]
    return [
        "  ".join(_cell(i, c, w) for i, (c, w) in enumerate(zip(row, widths, strict=True))).rstrip()
        for row in table
    ]


def _status(row: Delivery) -> str:
    """``skipped`` for a period done without sending (skip_empty), else the row's status."""
    return "skipped" if (row.receipt or "").startswith(SKIPPED) else row.status


def _note(row: Delivery) -> str:
    if (row.receipt or "").startswith(SKIPPED):
        return (row.receipt or "").removeprefix(SKIPPED).strip()
    return row.last_error or ""


def _cell(index: int, text: str, width: int) -> str:
    """Padded; the status coloured (click drops the colour off a terminal or with NO_COLOR)."""
    colour = STATUS_COLOURS.get(text) if index == STATUS_COLUMN else None
    return click.style(text.ljust(width), fg=colour) if colour else text.ljust(width)
