"""The daily chart of a report as PNG bytes (matplotlib, Agg, no pyplot).

Bars stack this period's daily credits by its top APIs (the rest in grey); a dark step line
is the previous period **aligned by weekday**: each day is drawn against the previous
period's day of the same weekday nearest its position (a Sunday against a Sunday, so weekend
dips line up; for a week, Monday against Monday). A period shorter than a week (a day) has
no weekday shape to align: the previous period is drawn as a level, its daily average. The
legend says which.

Colours are Okabe & Ito's colour-blind-safe palette (blue, orange, sky blue, vermillion,
yellow) and a light grey for the rest: every pair differs by at least 15 CAM02-UCS ΔE with
normal vision and under simulated deuteranopia, protanopia and tritanopia (the old palette's
blue and purple differed by 2.7 under protanopia); tests/test_charts.py checks it.
Segments are separated by a thin white edge. Long API names are cut to ``LABEL_WIDTH`` and
never to the same label: names that would collide keep their ends (``OpenAI Chat…4o mini``)
and, if still equal, get a number. The legend sits below the axes inside the figure
(constrained layout, ``outside lower center``), so it is never clipped.

matplotlib is imported inside ``daily_chart`` so the CLI starts without it, and no global
state is touched (no pyplot, no rcParams), so threads can draw charts side by side.
API names are never parsed as mathtext (``$`` is literal) and glyphs missing from the bundled
DejaVu font become "?", so names with emoji draw without warnings. Same input, same bytes.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from functools import cache
from typing import Any

from reportbot.core.report import ApiLine, Report
from reportbot.render.templates import oneline, truncate

WIDTH_IN, HEIGHT_IN, DPI = 5.0, 3.0, 180  # 900 x 540 px: sharp at 552 px on 1.6x screens
STACKED = 5  # APIs drawn as their own colour; the rest is one grey segment
COLOURS = ("#0072B2", "#E69F00", "#56B4E9", "#D55E00", "#F0E442")  # Okabe-Ito
REST_COLOUR, PREVIOUS_COLOUR, GRID_COLOUR, INK = "#cbd5e1", "#1e293b", "#e2e8f0", "#475569"
FONT = "DejaVu Sans"  # ships with matplotlib: the same glyphs everywhere
LABEL_WIDTH = 24
LEGEND_NARROW = 16  # labels longer than this go two to a legend row, not three
WEEK = 7


def daily_chart(report: Report) -> bytes:
    """A PNG of this period's daily credits against the previous period's."""
    out = io.BytesIO()
    chart_figure(report).savefig(out, format="png", dpi=DPI, metadata={"Software": None})
    return out.getvalue()


def chart_figure(report: Report) -> Any:
    """The matplotlib Figure (on an Agg canvas) that ``daily_chart`` saves."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(WIDTH_IN, HEIGHT_IN), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    _style(ax, report)
    if report.total:
        _bars(ax, report)
    _previous(ax, report)
    ax.set_ylim(bottom=0)
    if not report.total:
        ax.text(
            0.5,
            0.5,
            "No usage",
            transform=ax.transAxes,
            ha="center",
            va="center",
            fontsize=14,
            color=INK,
            parse_math=False,
            family=FONT,
        )
    _legend(fig, ax)
    return fig


def _style(ax: Any, report: Report) -> None:
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    ax.set_title(
        f"Daily credits, {report.period.label}",
        loc="left",
        fontsize=11,
        color=INK,
        parse_math=False,
        family=FONT,
    )
    ax.set_ylabel("credits", fontsize=9, color=INK, parse_math=False, family=FONT)
    ax.yaxis.set_major_locator(MaxNLocator(nbins=5, min_n_ticks=3))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:,.0f}"))
    ticks = _tick_indices(len(report.days))
    ax.set_xticks(ticks, [_day_label(report.days[i], len(report.days)) for i in ticks])
    ax.set_xlim(-0.6, len(report.days) - 0.4)
    ax.tick_params(labelsize=8.5, colors=INK, length=0)
    ax.grid(axis="y", color=GRID_COLOUR, linewidth=0.6)
    ax.set_axisbelow(True)
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    ax.spines["bottom"].set_color(GRID_COLOUR)


def _bars(ax: Any, report: Report) -> None:
    shown = list(report.top[:STACKED])
    rest = [t - sum(_col(shown, i)) for i, t in enumerate(report.daily_totals)]
    x = range(len(report.days))
    bottom = [0.0] * len(report.days)
    labels = short_labels([line.name for line in shown])
    segments = list(zip(labels, (line.daily for line in shown), COLOURS, strict=False))
    if any(rest):
        segments.append(("all other APIs", tuple(rest), REST_COLOUR))
    for label, values, colour in segments:
        heights = [float(v) for v in values]
        ax.bar(
            x, heights, bottom=bottom, width=0.75, color=colour, label=label,
            edgecolor="white", linewidth=0.4,
        )  # fmt: skip
        bottom = [b + h for b, h in zip(bottom, heights, strict=True)]


def _previous(ax: Any, report: Report) -> None:
    values, label = previous_line(report)
    if any(v for v in values if v == v):  # NaN != NaN: a gap
        ax.step(
            range(len(values)),
            values,
            where="mid",
            color=PREVIOUS_COLOUR,
            linewidth=1.3,
            label=label,
        )


def previous_line(report: Report) -> tuple[list[float], str]:
    """The previous period against this period's days (NaN where it has no such day), and
    its legend label saying how it is aligned."""
    previous = [float(v) for v in report.previous_daily_totals]
    name = report.previous_period.short_label
    count = len(report.days)
    if count < WEEK or not previous:
        level = sum(previous) / len(previous) if previous else 0.0
        return [level] * count, f"{name}, daily average"
    shift = (report.days[0].weekday() - report.previous_period.start.weekday()) % WEEK
    shift -= WEEK if shift > WEEK // 2 else 0
    aligned = [
        previous[i + shift] if 0 <= i + shift < len(previous) else math.nan for i in range(count)
    ]
    return aligned, f"{name}, same weekdays"


def short_labels(names: Sequence[str], width: int = LABEL_WIDTH) -> list[str]:
    """Legend labels of at most ``width`` characters, no two alike."""
    labels = [_label(name, width) for name in names]
    for group in _collisions(labels):
        for index in group:
            labels[index] = _label(names[index], width, middle=True)
    for group in _collisions(labels):
        for number, index in enumerate(group, start=1):
            suffix = f" #{number}"
            labels[index] = _label(names[index], width - len(suffix), middle=True) + suffix
    return labels


def _collisions(labels: Sequence[str]) -> list[list[int]]:
    seen: dict[str, list[int]] = {}
    for index, label in enumerate(labels):
        seen.setdefault(label, []).append(index)
    return [group for group in seen.values() if len(group) > 1]


def _legend(fig: Any, ax: Any) -> None:
    handles, labels = ax.get_legend_handles_labels()
    if not handles:
        return
    widest = max(len(label) for label in labels)
    legend = fig.legend(
        handles,
        labels,
        fontsize=8,
        frameon=False,
        loc="outside lower center",
        ncols=2 if widest > LEGEND_NARROW else 3,
        handlelength=1.2,
        columnspacing=1.2,
    )
    for text in legend.get_texts():
        text.set_parse_math(False)
        text.set_family(FONT)


def _col(lines: Sequence[ApiLine], index: int) -> list[Decimal]:
    return [line.daily[index] for line in lines]


def _tick_indices(count: int) -> list[int]:
    step = 1 if count <= 10 else 7 if count <= 62 else max(1, count // 8)
    return list(range(0, count, step))


def _day_label(day: date, count: int) -> str:
    return f"{day:%a} {day.day}" if count <= 7 else f"{day:%b} {day.day}"


def _label(name: str, width: int = LABEL_WIDTH, *, middle: bool = False) -> str:
    """One line, drawable glyphs, at most ``width``: cut at the end, or in the middle."""
    glyphs = _glyphs()
    text = "".join(ch if ord(ch) in glyphs else "?" for ch in oneline(name)) or "?"
    if not middle or len(text) <= width:
        return truncate(text, width)
    tail = (width - 1) // 2
    return text[: width - 1 - tail].rstrip() + "…" + text[len(text) - tail :].lstrip()


@cache
def _glyphs() -> frozenset[int]:
    from matplotlib.font_manager import FontProperties, findfont, get_font

    return frozenset(get_font(findfont(FontProperties(family=FONT))).get_charmap())
