"""The CSV attachment: exact Decimal sums, safe cells, a safe file name."""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest

from reportbot.core.periods import Period, parse_period
from reportbot.core.report import Report, compute_report
from reportbot.core.usage import Usage, UsageRow
from reportbot.render.csv_export import (
    HEADER,
    TOTALS_HEADER,
    csv_filename,
    guard,
    totals_csv,
    totals_filename,
    unguard,
    usage_csv,
)
from tests.conftest import DEMO_TODAY, demo_report
from tests.test_email_report import HOSTILE, hostile_report

BOM = b"\xef\xbb\xbf"


def read(data: bytes) -> list[dict[str, str]]:
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    return [
        {k: unguard(v) if k in ("api_id", "api_name") else v for k, v in r.items()} for r in rows
    ]


def parse(report: Report) -> list[dict[str, str]]:
    return read(usage_csv(report))


def per_api(rows: list[dict[str, str]], column: str = "credits") -> dict[str, Decimal]:
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for row in rows:
        totals[row["api_id"]] += Decimal(row[column])
    return dict(totals)


@pytest.mark.parametrize("period", ["2024-08", "2024-W35", "2024-08-28", "2024-08-01..2024-08-14"])
def test_a_plain_sum_of_the_credits_column_is_the_period_total(period: str) -> None:
    report = demo_report(period, top=3)
    rows = parse(report)

    assert sum(Decimal(row["credits"]) for row in rows) == report.total
    assert per_api(rows) == {line.api_id: line.total for line in report.apis if line.total}
    assert {(row["date"], row["api_id"]) for row in rows} == {
        (day.isoformat(), line.api_id)
        for line in report.apis
        for day, amount in zip(report.days, line.daily, strict=True)
        if amount
    }
    assert len(rows) == len({(row["date"], row["api_id"]) for row in rows})  # one row each


def test_the_totals_csv_has_one_row_per_api_summing_to_both_periods() -> None:
    report = demo_report("2024-08", top=3)
    rows = read(totals_csv(report))

    assert [row["api_id"] for row in rows] == [line.api_id for line in report.apis]
    assert sum(Decimal(row["credits"]) for row in rows) == report.total
    assert sum(Decimal(row["previous_credits"]) for row in rows) == report.previous_total
    assert {row["period"] for row in rows} == {"2024-08-01..2024-08-31"}
    assert {row["previous_period"] for row in rows} == {"2024-07-01..2024-07-31"}
    for row, line in zip(rows, report.apis, strict=True):
        assert Decimal(row["change"]) == line.delta
        expected = "" if line.delta_pct is None else f"{line.delta_pct:.2f}"
        assert row["change_pct"] == expected
    assert totals_csv(report).startswith(BOM + ",".join(TOTALS_HEADER).encode() + b"\r\n")
    assert totals_filename(report) == "totals-weekly-digest-2024-08.csv"


def test_a_new_api_has_no_percentage_change_in_the_totals() -> None:
    period = parse_period("2024-08-28", DEMO_TODAY)
    usage = Usage((UsageRow(date(2024, 8, 28), "a", Decimal("5")),))
    (row,) = read(totals_csv(compute_report("r", period, usage)))

    assert (row["credits"], row["previous_credits"], row["change_pct"]) == ("5", "0", "")


def test_it_starts_with_a_bom_and_a_header_and_ends_lines_in_crlf() -> None:
    data = usage_csv(demo_report())
    assert data.startswith(BOM + ",".join(HEADER).encode() + b"\r\n")
    assert data.endswith(b"\r\n")


def test_day_rows_come_by_date_then_largest_api_first() -> None:
    report = demo_report("2024-W35")
    days = parse(report)
    first_day = [r["api_id"] for r in days if r["date"] == "2024-08-26"]
    order = [line.api_id for line in report.apis]
    assert first_day == sorted(first_day, key=order.index)
    assert [r["date"] for r in days] == sorted(r["date"] for r in days)


def test_amounts_are_written_in_plain_decimal_notation() -> None:
    period = parse_period("2024-08-28", DEMO_TODAY)
    usage = Usage(
        (
            UsageRow(date(2024, 8, 28), "a", Decimal("1E+2")),
            UsageRow(date(2024, 8, 28), "b", Decimal("1E-7")),
        )
    )
    credits = [r["credits"] for r in parse(compute_report("r", period, usage))]
    assert "100" in credits and "0.0000001" in credits
    assert not any("E" in c for c in credits)


def test_hostile_names_are_quoted_guarded_and_read_back_exactly() -> None:
    report = hostile_report()
    raw = usage_csv(report).decode("utf-8-sig") + totals_csv(report).decode("utf-8-sig")
    assert ",'=cmd|' /C calc'!A0," in raw
    assert ",'+1 Images," in raw
    assert '"""quotes"", commas, and more"' in raw
    rows = parse(report)
    names = {r["api_id"]: r["api_name"] for r in read(totals_csv(report))}
    assert names == HOSTILE
    assert per_api(rows) == {line.api_id: line.total for line in report.apis if line.total}


@pytest.mark.parametrize(
    ("text", "cell"),
    [
        ("=1+1", "'=1+1"),
        ("+1", "'+1"),
        ("-1", "'-1"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("'quoted", "''quoted"),
        ("'", "''"),
        ("plain = text", "plain = text"),
        ("", ""),
    ],
)
def test_guard_defuses_formulas_and_unguard_restores_the_text(text: str, cell: str) -> None:
    assert guard(text) == cell
    assert unguard(cell) == text


@pytest.mark.parametrize(
    ("name", "period", "expected"),
    [
        ("monthly-costs", "2024-08", "usage-monthly-costs-2024-08.csv"),
        ("weekly-digest", "2024-W35", "usage-weekly-digest-2024-W35.csv"),
        ("daily", "2024-08-28", "usage-daily-2024-08-28.csv"),
        ("range", "2024-08-01..2024-08-14", "usage-range-2024-08-01_2024-08-14.csv"),
        ("Kosten Übersicht/../etc", "2024-08", "usage-Kosten-Ubersicht-etc-2024-08.csv"),
        ("🚀", "2024-08", "usage-report-2024-08.csv"),
    ],
)
def test_the_file_name_is_safe_and_names_report_and_period(
    name: str, period: str, expected: str
) -> None:
    report = replace(demo_report(), name=name, period=parse_period(period, DEMO_TODAY))
    assert csv_filename(report) == expected


def test_an_empty_report_has_only_the_headers() -> None:
    period: Period = parse_period("2024-08", DEMO_TODAY)
    report = compute_report("empty", period, Usage(()))
    assert usage_csv(report) == BOM + b"date,api_id,api_name,credits\r\n"
    assert read(totals_csv(report)) == []
