"""The daily chart: a real PNG, for empty and hostile reports too, without importing
matplotlib at CLI start-up."""

from __future__ import annotations

import math
import struct
import subprocess
import sys
import warnings
import zlib
from collections.abc import Callable
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reportbot.core.periods import parse_period
from reportbot.core.report import Report, compute_report
from reportbot.core.usage import Usage, UsageRow
from reportbot.render.chart import (
    COLOURS,
    DPI,
    HEIGHT_IN,
    LABEL_WIDTH,
    PREVIOUS_COLOUR,
    REST_COLOUR,
    WIDTH_IN,
    chart_figure,
    daily_chart,
    previous_line,
    short_labels,
)
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


# --- colours that read for everyone ----------------------------------------------------------

VISIONS = [
    None,
    {"name": "sRGB1+CVD", "cvd_type": "deuteranomaly", "severity": 100},  # deuteranopia
    {"name": "sRGB1+CVD", "cvd_type": "protanomaly", "severity": 100},  # protanopia
    {"name": "sRGB1+CVD", "cvd_type": "tritanomaly", "severity": 100},  # tritanopia
]
MIN_DELTA_E = 12.0  # CAM02-UCS; the palette reaches 15.2, the old one 2.7 (blue vs purple)


def rgb(colour: str) -> tuple[float, float, float]:
    return tuple(int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5))  # type: ignore[return-value]


def smallest_difference(colours: list[str], vision: dict[str, object] | None) -> float:
    from colorspacious import cspace_convert, deltaE

    seen = [rgb(c) for c in colours]
    if vision is not None:
        seen = [
            tuple(min(1.0, max(0.0, v)) for v in cspace_convert(c, vision, "sRGB1")) for c in seen
        ]
    return min(
        float(deltaE(a, b, input_space="sRGB1", uniform_space="CAM02-UCS"))
        for i, a in enumerate(seen)
        for b in seen[i + 1 :]
    )


@pytest.mark.parametrize(
    "vision", VISIONS, ids=["normal", "deuteranopia", "protanopia", "tritanopia"]
)
def test_every_pair_of_bar_colours_differs_clearly_under_colour_blindness(
    vision: dict[str, object] | None,
) -> None:
    assert smallest_difference([*COLOURS, REST_COLOUR], vision) >= MIN_DELTA_E


@pytest.mark.parametrize(
    "vision", VISIONS, ids=["normal", "deuteranopia", "protanopia", "tritanopia"]
)
def test_the_previous_period_line_stands_out_from_every_bar(
    vision: dict[str, object] | None,
) -> None:
    for colour in (*COLOURS, REST_COLOUR):
        assert smallest_difference([PREVIOUS_COLOUR, colour], vision) >= MIN_DELTA_E


def test_the_old_palette_fails_the_same_check() -> None:
    """The check can fail: blue and purple were 2.7 apart under protanopia."""
    old = ["#2563eb", "#f59e0b", "#10b981", "#8b5cf6", "#ec4899", "#cbd5e1"]
    assert smallest_difference(old, VISIONS[2]) < 3


# --- the previous period, by weekday ---------------------------------------------------------


def coded_report(period: str) -> Report:
    """Every previous-period day's amount encodes its weekday: 10 * day of month + weekday."""
    chosen = parse_period(period, date(2027, 1, 1))
    rows = [
        UsageRow(day, "a", Decimal(10 * day.day + day.weekday()))
        for day in (*chosen.previous().days(), *chosen.days())
    ]
    return compute_report("r", chosen, Usage(tuple(rows)))


@pytest.mark.parametrize(
    "period",
    ["2026-11", "2026-10", "2024-08", "2024-03", "2026-W45", "2024-08-01..2024-08-14", "2025-02"],
)
def test_the_previous_line_puts_each_day_against_the_same_weekday(period: str) -> None:
    report = coded_report(period)
    values, label = previous_line(report)

    assert label.endswith(", same weekdays")
    matched = [(day, v) for day, v in zip(report.days, values, strict=True) if not math.isnan(v)]
    assert all(int(v) % 10 == day.weekday() for day, v in matched)
    assert len(matched) >= len(report.days) - 3  # shifted at most 3 days either way


def test_november_2026_is_not_drawn_against_october_by_date() -> None:
    """Oct 1 2026 is a Thursday, Nov 1 a Sunday: by date, weekends would sit days apart."""
    values, _ = previous_line(coded_report("2026-11"))

    assert int(values[0]) == 10 * 4 + 6  # Sunday Nov 1 against Sunday Oct 4


def test_a_single_day_is_compared_with_a_level_not_a_shape() -> None:
    report = demo_report("2024-08-28")
    values, label = previous_line(report)

    assert values == [float(report.previous_total)]
    assert label == f"{report.previous_period.short_label}, daily average"


# --- labels and legend -----------------------------------------------------------------------


def test_short_names_are_left_alone() -> None:
    assert short_labels(["Short", "Also short"]) == ["Short", "Also short"]


@pytest.mark.parametrize(
    "names",
    [
        ["OpenAI Chat Completions GPT-4o", "OpenAI Chat Completions GPT-4o mini"],
        ["Midjourney Imagine Relax Mode", "Midjourney Imagine Relax Mode (v6)"],
        ["Same name twice", "Same name twice"],
        ["x" * 40 + "1", "x" * 40 + "2", "x" * 40 + "3"],
        [
            "A very long API name that ends the same",
            "Another very long API name that ends the same",
        ],
    ],
)
def test_long_names_are_shortened_without_two_alike(names: list[str]) -> None:
    labels = short_labels(names)

    assert len(set(labels)) == len(labels)
    assert all(len(label) <= LABEL_WIDTH for label in labels)


def test_names_that_differ_at_the_end_keep_their_ends() -> None:
    labels = short_labels(["OpenAI Chat Completions GPT-4o", "OpenAI Chat Completions GPT-4o mini"])

    assert labels == ["OpenAI Chat…ions GPT-4o", "OpenAI Chat…GPT-4o mini"]


@given(st.lists(st.text(min_size=0, max_size=60), min_size=1, max_size=8))
def test_labels_are_always_distinct_for_distinct_names_and_fit(names: list[str]) -> None:
    labels = short_labels(names)

    assert all(len(label) <= LABEL_WIDTH for label in labels)
    assert len(set(labels)) == len(labels)


def long_names_report() -> Report:
    names = {f"api-{i}": f"AceData Cloud Extremely Long API Product Name {i}" for i in range(7)}
    period = parse_period("2024-08", DEMO_TODAY)
    rows = [
        UsageRow(day, api_id, Decimal(100 + 10 * i))
        for day in (*period.previous().days(), *period.days())
        for i, api_id in enumerate(names)
    ]
    return compute_report("r", period, Usage(tuple(rows), names))


@pytest.mark.parametrize(
    "make", [long_names_report, hostile_report, lambda: demo_report("2024-08")]
)
def test_the_legend_is_inside_the_figure_and_below_the_axes(make: Callable[[], Report]) -> None:
    fig = chart_figure(make())
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    (legend,) = fig.legends
    box = legend.get_window_extent(renderer)
    axes = fig.axes[0].get_window_extent(renderer)

    assert fig.bbox.x0 <= box.x0 and box.x1 <= fig.bbox.x1
    assert fig.bbox.y0 <= box.y0 and box.y1 <= fig.bbox.y1
    assert box.y1 <= axes.y0  # below the plot, not over the bars
    texts = [text.get_text() for text in legend.get_texts()]
    assert len(texts) == len(set(texts))
