"""The daily chart: a real PNG, for empty and hostile reports too, without importing
matplotlib at CLI start-up."""

from __future__ import annotations

import struct
import subprocess
import sys
import warnings
import zlib

import pytest

from reportbot.core.periods import parse_period
from reportbot.core.report import Report, compute_report
from reportbot.core.usage import Usage
from reportbot.render.chart import DPI, HEIGHT_IN, WIDTH_IN, daily_chart
from tests.conftest import DEMO_TODAY, demo_report
from tests.test_email_report import hostile_report

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def png_size(png: bytes) -> tuple[int, int]:
    """Width and height from the IHDR chunk, checking its CRC on the way."""
    assert png[:8] == PNG_MAGIC
    length, kind = struct.unpack(">I4s", png[8:16])
    assert (length, kind) == (13, b"IHDR")
    assert struct.unpack(">I", png[29:33])[0] == zlib.crc32(png[12:29])
    width, height = struct.unpack(">II", png[16:24])
    return width, height


def empty_report(period: str = "2024-08") -> Report:
    return compute_report("empty", parse_period(period, DEMO_TODAY), Usage(()))


def draw_without_warnings(report: Report) -> bytes:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a missing glyph or mathtext trouble warns first
        return daily_chart(report)


@pytest.mark.parametrize("period", ["2024-08", "2024-W35", "2024-08-28", "2024-06-01..2024-06-10"])
def test_it_draws_a_png_of_the_figure_size(period: str) -> None:
    png = draw_without_warnings(demo_report(period))
    assert png_size(png) == (round(WIDTH_IN * DPI), round(HEIGHT_IN * DPI))
    assert png.endswith(b"IEND\xaeB`\x82")


def test_the_same_report_gives_the_same_bytes() -> None:
    report = demo_report("2024-W35")
    assert daily_chart(report) == daily_chart(report)


def test_the_png_carries_no_software_or_date_metadata() -> None:
    png = daily_chart(demo_report("2024-W35"))
    assert b"Software" not in png and b"matplotlib" not in png.lower()


@pytest.mark.parametrize("period", ["2024-08", "2024-08-28"])
def test_an_empty_period_draws_an_empty_chart(period: str) -> None:
    png = draw_without_warnings(empty_report(period))
    assert png_size(png) == (round(WIDTH_IN * DPI), round(HEIGHT_IN * DPI))


def test_hostile_names_with_dollars_and_emoji_draw() -> None:
    png = draw_without_warnings(hostile_report())
    assert png[:8] == PNG_MAGIC


def test_the_cli_and_the_email_renderer_start_without_matplotlib() -> None:
    code = (
        "import sys, reportbot.cli.commands, reportbot.render.email, reportbot.render.csv_export; "
        "loaded = [m for m in ('matplotlib', 'css_inline') if m in sys.modules]; "
        "assert not loaded, loaded"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
