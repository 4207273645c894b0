"""The CSV attachments of a report: every API, every day, exact amounts.

``usage_csv``: one row per API per day with usage (zero days are left out), by date, then
largest API first, columns ``date, api_id, api_name, credits``. Nothing else is in it, so a
plain ``SUM`` of the credits column (or a pivot table by day or API) is the period total.

``totals_csv``: one row per API used in either period, columns ``api_id, api_name, period,
credits, previous_period, previous_credits, change, change_pct`` (``change_pct`` empty
for an API that is new). Its credits column sums to the period total as well, its
previous_credits column to the previous period's; grand totals are in the email body.

Amounts are the report's Decimals written in plain notation, never through float.

Encoding is UTF-8 *with* a byte-order mark: Excel (the finance team's default) reads a CSV
without one in the local ANSI code page and garbles non-ASCII API names; LibreOffice, Google
Sheets, pandas and ``csv`` with ``encoding="utf-8-sig"`` read it fine. Rows end in CRLF
(RFC 4180); fields with commas, quotes or line breaks are quoted by ``csv``.

Locale: fields are separated by commas and amounts use a decimal point (RFC 4180, what
pandas, Google Sheets, LibreOffice and an English Excel read). An Excel set to German (or
any locale whose list separator is ";") opened by double-click puts each line in one
column; there, use Data > From Text/CSV (it detects the comma and lets you pick the locale),
or the XLSX attachment, which stores numbers as numbers and opens the same everywhere.

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
from collections.abc import Iterable, Iterator, Sequence

from reportbot.core.periods import Period
from reportbot.core.report import Report

HEADER = ("date", "api_id", "api_name", "credits")
TOTALS_HEADER = (
    *("api_id", "api_name", "period", "credits"),
    *("previous_period", "previous_credits", "change", "change_pct"),
)
GUARDED = ("=", "+", "-", "@", "\t", "\r", "'")
FULLWIDTH = ("＝", "＋", "－", "＠")  # Excel reads these as their ASCII twins
SPACES = " \u00a0\u3000"  # leading blanks Excel skips before a formula
NAME_WIDTH = 60


def usage_csv(report: Report) -> bytes:
    """The day-by-API CSV bytes (UTF-8 with BOM) of ``report``."""
    return _csv(HEADER, _day_rows(report))


def totals_csv(report: Report) -> bytes:
    """The per-API totals of both periods as CSV bytes (UTF-8 with BOM)."""
    return _csv(TOTALS_HEADER, _total_rows(report))


def csv_filename(report: Report) -> str:
    """``usage-<report>-<period key>.csv``, ASCII and safe on every file system."""
    return f"usage-{file_stem(report)}.csv"


def totals_filename(report: Report) -> str:
    """``totals-<report>-<period key>.csv``."""
    return f"totals-{file_stem(report)}.csv"


def file_stem(report: Report) -> str:
    """``<report>-<period key>``, ASCII and safe on every file system."""
    name = unicodedata.normalize("NFKD", report.name).encode("ascii", "ignore").decode()
    name = re.sub(r"[^A-Za-z0-9_-]+", "-", name).strip("-")[:NAME_WIDTH] or "report"
    key = report.period.key.replace("..", "_")  # a range: "2024-08-01_2024-08-14"
    return f"{name}-{key}"


def _csv(header: Sequence[str], rows: Iterable[Sequence[str]]) -> bytes:
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode("utf-8-sig")


def guard(text: str) -> str:
    """Text a spreadsheet will not run as a formula (also ``＝…`` and ``  =…``)."""
    bare = text.lstrip(SPACES)
    risky = text.startswith(GUARDED) or bare.startswith(GUARDED + FULLWIDTH)
    return "'" + text if risky else text


def unguard(text: str) -> str:
    """The original text of a ``guard``-ed cell."""
    return text[1:] if text.startswith("'") and guard(text[1:]) == text else text


def _day_rows(report: Report) -> Iterator[tuple[str, str, str, str]]:
    """Every row, its text cells guarded (once per API: a period can have 100,000s of rows)."""
    apis = [(line, guard(line.api_id), guard(line.name)) for line in report.apis]
    for index, day in enumerate(report.days):
        date_text = day.isoformat()
        for line, api_id, name in apis:
            if amount := line.daily[index]:
                yield date_text, api_id, name, f"{amount:f}"


def _total_rows(report: Report) -> Iterator[tuple[str, ...]]:
    current, previous = span(report.period), span(report.previous_period)
    for line in report.apis:
        change = "" if line.delta_pct is None else f"{line.delta_pct:.2f}"
        yield (
            *(guard(line.api_id), guard(line.name), current, f"{line.total:f}"),
            *(previous, f"{line.previous:f}", f"{line.delta:f}", change),
        )


def span(period: Period) -> str:
    """``2024-08-01..2024-08-31``."""
    return f"{period.start.isoformat()}..{period.end.isoformat()}"
