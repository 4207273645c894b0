"""reportbot is usable as a library: fetch/parse usage, compute a report, render it."""

from __future__ import annotations

import subprocess
import sys
from datetime import date
from zoneinfo import ZoneInfo

import httpx

import reportbot
from tests.fakes.usage_api import UsageApiServer


def test_the_package_exports_the_library_api_end_to_end() -> None:
    period = reportbot.parse_period("2024-W33", date(2024, 8, 20))
    rows = [{"date": "2024-08-13", "api_id": "mj", "amount": "12.50"}]
    with UsageApiServer(token="tok") as api, httpx.Client() as http:
        api.serve_rows(rows, {"mj": "Midjourney"})
        client = reportbot.UsageClient(http, api.url, "tok")
        usage = client.fetch(period.previous().start, period.end, ZoneInfo("UTC"))
    report = reportbot.compute_report("weekly", period, usage)
    assert (
        report.total
        == reportbot.parse_usage(
            b'{"items":[{"date":"2024-08-13","api_id":"mj","amount":"12.50"}]}',
            period.start,
            period.end,
        )
        .rows[0]
        .amount
    )
    assert "Midjourney" in reportbot.RenderedReport(report).text


def test_importing_reportbot_loads_none_of_the_library_yet() -> None:
    code = (
        "import sys, reportbot; print(sorted(m for m in sys.modules if m.startswith('reportbot')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "['reportbot']"
