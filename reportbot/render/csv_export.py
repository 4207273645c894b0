"""The CSV attachment of a report: every API, every day, exact amounts.

Columns ``kind, period, date, api_id, api_name, credits``:

    day    current   2024-08-01              one row per API per day with usage (zero days
                                             are left out), by date, then largest API first
    api    current   2024-08-01..2024-08-31  each API's total this period, then ...
    api    previous  2024-07-01..2024-07-31  ... the previous period (the report carries only
                                             totals for it), every API of either period
    all    current   2024-08-01..2024-08-31  the grand totals (api_id empty, "All APIs")
    all    previous  2024-07-01..2024-07-31

Filter on ``kind`` before summing: ``day`` rows add up to the ``api`` rows, which add up to
``all``. Amounts are the report's Decimals written in plain notation, never through float.

Encoding is UTF-8 *with* a byte-order mark: Excel (the finance team's default) reads a CSV
without one in the local ANSI code page and garbles non-ASCII API names; LibreOffice, Google
Sheets, pandas and ``csv`` with ``encoding="utf-8-sig"`` read it fine. Rows end in CRLF
(RFC 4180); fields with commas, quotes or line breaks are quoted by ``csv``.

Spreadsheets run a cell starting with ``= + - @`` (or tab/CR) as a formula, so an API
name like ``=cmd|' /C calc'!A0`` could run a command when the file is opened. Text cells
starting with one of those, or with the apostrophe itself (so that ``unguard`` is exact),
get a leading ``'``, which spreadsheets show as text. Amounts are ours, never guarded.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Iterator

from reportbot.core.periods import Period
from reportbot.core.report import Report

HEADER = ("kind", "period", "date", "api_id", "api_name", "credits")
GUARDED = ("=", "+", "-", "@", "\t", "\r", "'")
ALL_APIS = "All APIs"
NAME_WIDTH = 60

Row = tuple[str, str, str, str, str, str]


def usage_csv(report: Report) -> bytes:
    """The CSV bytes (UTF-8 with BOM) of ``report``."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(HEADER)
    writer.writerows(_rows(report))
    return out.getvalue().encode("utf-8-sig")


def csv_filename(report: Report) -> str:
    """``usage-<report>-<period key>.csv``, ASCII and safe on every file system."""
    name = unicodedata.normalize("NFKD", report.name).encode("ascii", "ignore").decode()
    name = re.sub(r"[^A-Za-z0-9_-]+", "-", name).strip("-")[:NAME_WIDTH] or "report"
    key = report.period.key.replace("..", "_")  # a range: "2024-08-01_2024-08-14"
    return f"usage-{name}-{key}.csv"


def guard(text: str) -> str:
    """Text a spreadsheet will not run as a formula."""
    return "'" + text if text.startswith(GUARDED) else text


def unguard(text: str) -> str:
    """The original text of a ``guard``-ed cell."""
    return text[1:] if text.startswith("'") and text[1:].startswith(GUARDED) else text


def _rows(report: Report) -> Iterator[Row]:
    """Every row, its text cells guarded (once per API: a period can have 100,000s of rows)."""
    current, previous = _span(report.period), _span(report.previous_period)
    apis = [(line, guard(line.api_id), guard(line.name)) for line in report.apis]
    for index, day in enumerate(report.days):
        date_text = day.isoformat()
        for line, api_id, name in apis:
            if amount := line.daily[index]:
                yield "day", "current", date_text, api_id, name, f"{amount:f}"
    for line, api_id, name in apis:
        yield "api", "current", current, api_id, name, f"{line.total:f}"
    for line, api_id, name in apis:
        yield "api", "previous", previous, api_id, name, f"{line.previous:f}"
    yield "all", "current", current, "", ALL_APIS, f"{report.total:f}"
    yield "all", "previous", previous, "", ALL_APIS, f"{report.previous_total:f}"


def _span(period: Period) -> str:
    return f"{period.start.isoformat()}..{period.end.isoformat()}"
