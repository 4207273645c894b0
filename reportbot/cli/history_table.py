"""What ``reportbot history`` shows: the ledger's rows as an aligned table."""

from __future__ import annotations

from collections.abc import Sequence

import click

from reportbot.ledger import SKIPPED
from reportbot.ledger.rows import Delivery

HISTORY_COLUMNS = ("report", "period", "destination", "status", "attempts", "when (UTC)", "error")
ERROR_WIDTH = 72
STATUS_COLUMN = HISTORY_COLUMNS.index("status")
STATUS_COLOURS = {"sent": "green", "failed": "red", "sending": "yellow"}


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
