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
from reportbot.render.csv_export import HEADER, csv_filename, guard, unguard, usage_csv
from tests.conftest import DEMO_TODAY, demo_report
from tests.test_email_report import HOSTILE, hostile_report

BOM = b"\xef\xbb\xbf"


def parse(report: Report) -> list[dict[str, str]]:
    text = usage_csv(report).decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    return [
        {k: unguard(v) if k in ("api_id", "api_name") else v for k, v in r.items()} for r in rows
    ]


def sums(rows: list[dict[str, str]], kind: str, period: str = "current") -> dict[str, Decimal]:
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for row in rows:
        if (row["kind"], row["period"]) == (kind, period):
            totals[row["api_id"]] += Decimal(row["credits"])
    return dict(totals)


def test_day_rows_add_up_exactly_to_each_api_and_to_the_report() -> None:
    report = demo_report("2024-08", top=3)
    rows = parse(report)
    per_api = {line.api_id: line.total for line in report.apis if line.total}
    assert sums(rows, "day") == per_api
    assert sums(rows, "api") == {line.api_id: line.total for line in report.apis}
    assert sums(rows, "api", "previous") == {line.api_id: line.previous for line in report.apis}
    assert sums(rows, "all") == {"": report.total}
    assert sums(rows, "all", "previous") == {"": report.previous_total}
    assert sum(sums(rows, "day").values()) == report.total


def test_it_starts_with_a_bom_and_a_header_and_ends_lines_in_crlf() -> None:
    data = usage_csv(demo_report())
    assert data.startswith(BOM + ",".join(HEADER).encode() + b"\r\n")
    assert data.endswith(b"\r\n")


def test_day_rows_come_by_date_then_largest_api_first() -> None:
    report = demo_report("2024-W35")
    days = [r for r in parse(report) if r["kind"] == "day"]
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
    raw = usage_csv(report).decode("utf-8-sig")
    assert ",'=cmd|' /C calc'!A0," in raw
    assert ",'+1 Images," in raw
    assert '"""quotes"", commas, and more"' in raw
    rows = parse(report)
    names = {r["api_id"]: r["api_name"] for r in rows if r["kind"] == "api"}
    assert names == HOSTILE
    assert sums(rows, "day") == {line.api_id: line.total for line in report.apis if line.total}


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


def test_an_empty_report_has_only_the_grand_totals() -> None:
    period: Period = parse_period("2024-08", DEMO_TODAY)
    rows = parse(compute_report("empty", period, Usage(())))
    assert [(r["kind"], r["period"], r["credits"]) for r in rows] == [
        ("all", "current", "0"),
        ("all", "previous", "0"),
    ]
