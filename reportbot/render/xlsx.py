"""The XLSX attachment of a report (``attach = ["csv", "xlsx"]``): openpyxl, no formulas.

Three sheets:

    Daily    one row per day, one column per API (the day x API matrix); nothing else,
             so a SUM over the numbers is the period total
    APIs     one row per API of either period: id, name, credits, previous, change,
             change % (empty for a new API), share
    Summary  the period, its total, the previous period's and the change

Numbers are stored as numbers with a ``number_format`` (``#,##0.00``, ``0.0%``) and days
as dates (``yyyy-mm-dd``), so the file is locale-proof: a German Excel shows 1.234,56 and
sums it, with no import wizard. Text is stored as text: a name like ``=cmd|...`` is a
string cell (``data_type = "s"``), never a formula, and shown on one line as in the other
views (controls and line breaks become spaces, bidi controls go; so do characters XML cannot
hold). The CSV, a data file, keeps names as the API gave them. Amounts go in as the
report's Decimals (Excel keeps 15 significant digits). openpyxl is imported inside
``usage_xlsx`` so that nothing else pays for it.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from datetime import datetime, time
from typing import Any

from reportbot.core.report import Report
from reportbot.render.csv_export import file_stem, span
from reportbot.render.templates import oneline

CREDITS_FORMAT = "#,##0.00"
PERCENT_FORMAT = "0.0%"
DATE_FORMAT = "yyyy-mm-dd"
NAME_WIDTH, NUMBER_WIDTH = 36, 14
_NOT_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
APIS_HEADER = ("api_id", "API", "credits", "previous", "change", "change %", "share")
APIS_FORMATS = ("", "", CREDITS_FORMAT, CREDITS_FORMAT, CREDITS_FORMAT, PERCENT_FORMAT, "0.0%")


def xlsx_filename(report: Report) -> str:
    """``usage-<report>-<period key>.xlsx``."""
    return f"usage-{file_stem(report)}.xlsx"


def usage_xlsx(report: Report) -> bytes:
    """The workbook's bytes."""
    from openpyxl import Workbook

    book = Workbook()
    moment = datetime.combine(report.period.end, time())
    book.properties.creator = "reportbot"
    book.properties.created = book.properties.modified = moment
    _daily(book.active, report)
    _apis(book.create_sheet("APIs"), report)
    _summary(book.create_sheet("Summary"), report)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _daily(sheet: Any, report: Report) -> None:
    sheet.title = "Daily"
    _header(sheet, ["date", *(line.name for line in report.apis if line.total)])
    used = [line for line in report.apis if line.total]
    for index, day in enumerate(report.days):
        row = index + 2
        _cell(sheet, row, 1, day, DATE_FORMAT)
        for column, line in enumerate(used, start=2):
            _cell(sheet, row, column, line.daily[index], CREDITS_FORMAT)
    sheet.freeze_panes = "B2"
    _widths(sheet, [12] + [NUMBER_WIDTH] * len(used))


def _apis(sheet: Any, report: Report) -> None:
    _header(sheet, APIS_HEADER)
    for row, line in enumerate(report.apis, start=2):
        pct = None if line.delta_pct is None else line.delta_pct / 100
        values = (line.api_id, line.name, line.total, line.previous, line.delta, pct, line.share)
        for column, (value, number_format) in enumerate(zip(values, APIS_FORMATS, strict=True), 1):
            _cell(sheet, row, column, value, number_format)
    sheet.freeze_panes = "A2"
    _widths(sheet, [NAME_WIDTH, NAME_WIDTH] + [NUMBER_WIDTH] * 5)


def _summary(sheet: Any, report: Report) -> None:
    pct = None if report.delta_pct is None else report.delta_pct / 100
    rows: list[tuple[str, object, str]] = [
        ("report", report.name, ""),
        ("period", f"{report.period.label} ({span(report.period)})", ""),
        ("time zone", report.timezone, ""),
        ("credits", report.total, CREDITS_FORMAT),
        ("previous period", f"{report.previous_period.label} ({span(report.previous_period)})", ""),
        ("previous credits", report.previous_total, CREDITS_FORMAT),
        ("change", report.delta, CREDITS_FORMAT),
        ("change %", pct, PERCENT_FORMAT),
    ]
    if report.credit_price is not None:
        rows.append((f"estimate ({report.currency})", report.money(report.total), "#,##0.00"))
    for row, (label, value, number_format) in enumerate(rows, start=1):
        _cell(sheet, row, 1, label, "")
        _cell(sheet, row, 2, value, number_format)
    _widths(sheet, [18, 48])


def _header(sheet: Any, names: Sequence[str]) -> None:
    from openpyxl.styles import Font

    for column, name in enumerate(names, start=1):
        _cell(sheet, 1, column, name, "").font = Font(bold=True)


def _cell(sheet: Any, row: int, column: int, value: object, number_format: str) -> Any:
    """One cell: text always as text (never a formula), numbers as numbers."""
    cell = sheet.cell(row=row, column=column)
    if value is None:
        return cell
    if isinstance(value, str):
        cell.value = _NOT_XML.sub(" ", oneline(value))  # shown as everywhere else
        cell.data_type = "s"
        return cell
    cell.value = value
    if number_format:
        cell.number_format = number_format
    return cell


def _widths(sheet: Any, widths: Sequence[int]) -> None:
    from openpyxl.utils import get_column_letter

    for column, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(column)].width = width
