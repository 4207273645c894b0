"""The XLSX attachment: numbers as numbers, days as dates, text as text, sums that add up."""

from __future__ import annotations

import io
import re
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pytest
from openpyxl import load_workbook

from reportbot.core.periods import parse_period
from reportbot.core.report import Report, compute_report
from reportbot.core.usage import Usage, UsageRow
from reportbot.render.xlsx import APIS_HEADER, usage_xlsx, xlsx_filename
from tests.conftest import DEMO_TODAY, demo_report
from tests.test_email_report import HOSTILE, hostile_report


def book(report: Report) -> Any:
    return load_workbook(io.BytesIO(usage_xlsx(report)))


def numbers(sheet: Any, first_row: int, first_column: int) -> list[Any]:
    return [
        cell
        for row in sheet.iter_rows(min_row=first_row, min_col=first_column)
        for cell in row
        if cell.value is not None
    ]


def test_the_workbook_has_a_daily_an_apis_and_a_summary_sheet() -> None:
    assert book(demo_report("2024-08")).sheetnames == ["Daily", "APIs", "Summary"]


@pytest.mark.parametrize("period", ["2024-08", "2024-W35", "2024-08-28"])
def test_the_daily_sheet_is_days_by_apis_and_sums_to_the_period_total(period: str) -> None:
    report = demo_report(period)
    daily = book(report)["Daily"]

    header = [cell.value for cell in daily[1]]
    assert header == ["date", *(line.name for line in report.apis if line.total)]
    days = [row[0].value for row in daily.iter_rows(min_row=2)]
    assert days == [datetime.combine(day, datetime.min.time()) for day in report.days]
    cells = numbers(daily, 2, 2)
    assert all(isinstance(cell.value, int | float) for cell in cells)
    assert all(cell.number_format == "#,##0.00" for cell in cells)
    assert sum(Decimal(str(cell.value)) for cell in cells) == pytest.approx(report.total)
    assert daily.freeze_panes == "B2"


def test_the_apis_sheet_has_each_api_with_both_periods_as_numbers() -> None:
    report = demo_report("2024-08", top=3)
    apis = book(report)["APIs"]

    assert tuple(cell.value for cell in apis[1]) == APIS_HEADER
    rows = list(apis.iter_rows(min_row=2, values_only=True))
    assert [row[0] for row in rows] == [line.api_id for line in report.apis]
    assert sum(row[2] for row in rows) == pytest.approx(float(report.total))
    assert sum(row[3] for row in rows) == pytest.approx(float(report.previous_total))
    for row, line in zip(rows, report.apis, strict=True):
        expected = None if line.delta_pct is None else float(line.delta_pct / 100)
        assert row[5] == pytest.approx(expected)
    assert apis["F2"].number_format == "0.0%" and apis["C2"].number_format == "#,##0.00"


def test_the_summary_sheet_has_the_totals() -> None:
    report = demo_report("2024-08")
    summary = dict(book(report)["Summary"].iter_rows(values_only=True))

    assert summary["credits"] == pytest.approx(float(report.total))
    assert summary["previous credits"] == pytest.approx(float(report.previous_total))
    assert summary["period"] == "August 2024 (2024-08-01..2024-08-31)"
    assert summary["estimate (USD)"] == pytest.approx(float(report.money(report.total) or 0))


def test_formula_looking_names_are_stored_as_text_never_as_formulas() -> None:
    report = hostile_report()
    sheet = book(report)["APIs"]

    names = {row[0].value: row[1] for row in sheet.iter_rows(min_row=2)}
    shown = {api_id: name.replace("\n", " ") for api_id, name in HOSTILE.items()}
    assert {api_id: cell.value for api_id, cell in names.items()} == shown  # one line each
    assert all(cell.data_type == "s" for cell in names.values())
    assert names["h-formula"].value == "=cmd|' /C calc'!A0"
    header = book(report)["Daily"][1]
    assert all(cell.data_type == "s" for cell in header)


@pytest.mark.parametrize(
    "name", ["=1+1", '=HYPERLINK("http://x")', "@SUM(A1)", "a\x00b\x1fc", "a\u202eb\x85c"]
)
def test_any_name_is_written_as_text(name: str) -> None:
    period = parse_period("2024-08-28", DEMO_TODAY)
    usage = Usage((UsageRow(date(2024, 8, 28), "x", Decimal("1.5")),), {"x": name})
    cell = book(compute_report("r", period, usage))["APIs"]["B2"]

    assert cell.data_type == "s"
    assert cell.value == " ".join(re.split("[\x00\x1f\u202e\x85]", name))


def test_an_empty_report_still_opens_with_headers() -> None:
    period = parse_period("2024-08", DEMO_TODAY)
    workbook = book(compute_report("empty", period, Usage(())))

    assert [cell.value for cell in workbook["Daily"][1]] == ["date"]
    assert workbook["APIs"].max_row == 1


def test_the_file_name_names_report_and_period() -> None:
    assert xlsx_filename(demo_report("2024-08")) == "usage-weekly-digest-2024-08.xlsx"
