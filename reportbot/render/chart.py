"""The daily chart of a report as PNG bytes (matplotlib, Agg, no pyplot).

Bars stack this period's daily credits by its top APIs (the rest in grey); a dark step line
is the previous period, aligned by day index (day 1 against day 1) and cut to this period's
length. matplotlib is imported inside ``daily_chart`` so the CLI starts without it, and no
global state is touched (no pyplot, no rcParams), so threads can draw charts side by side.
API names are never parsed as mathtext (``$`` is literal) and glyphs missing from the bundled
DejaVu font become "?", so names with emoji draw without warnings. Same input, same bytes.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from functools import cache
from typing import Any

from reportbot.core.report import ApiLine, Report
from reportbot.render.templates import oneline, truncate

WIDTH_IN, HEIGHT_IN, DPI = 5.0, 3.0, 180  # 900 x 540 px: sharp at 552 px on 1.6x screens
STACKED = 5  # APIs drawn as their own colour; the rest is one grey segment
COLOURS = ("#2563eb", "#f59e0b", "#10b981", "#8b5cf6", "#ec4899")
REST_COLOUR, PREVIOUS_COLOUR, GRID_COLOUR, INK = "#cbd5e1", "#334155", "#e2e8f0", "#475569"
FONT = "DejaVu Sans"  # ships with matplotlib: the same glyphs everywhere
LABEL_WIDTH = 24


def daily_chart(report: Report) -> bytes:
    """A PNG of this period's daily credits against the previous period's."""
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
    _legend(ax)
    out = io.BytesIO()
    fig.savefig(out, format="png", dpi=DPI, metadata={"Software": None})
    return out.getvalue()


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
    segments = [(_label(line.name), line.daily, c) for line, c in zip(shown, COLOURS, strict=False)]
    if any(rest):
        segments.append(("all other APIs", tuple(rest), REST_COLOUR))
    for label, values, colour in segments:
        heights = [float(v) for v in values]
        ax.bar(x, heights, bottom=bottom, width=0.75, color=colour, label=label, linewidth=0)
        bottom = [b + h for b, h in zip(bottom, heights, strict=True)]


def _previous(ax: Any, report: Report) -> None:
    values = [float(v) for v in report.previous_daily_totals[: len(report.days)]]
    if any(values):
        label = f"{report.previous_period.short_label} (previous)"
        ax.step(
            range(len(values)),
            values,
            where="mid",
            color=PREVIOUS_COLOUR,
            linewidth=1.2,
            label=label,
        )


def _legend(ax: Any) -> None:
    if not ax.get_legend_handles_labels()[0]:
        return
    legend = ax.legend(
        fontsize=8,
        frameon=False,
        loc="upper center",
        ncols=3,
        bbox_to_anchor=(0.5, -0.1),
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


def _label(name: str) -> str:
    glyphs = _glyphs()
    text = truncate(oneline(name), LABEL_WIDTH)
    return "".join(ch if ord(ch) in glyphs else "?" for ch in text) or "?"


@cache
def _glyphs() -> frozenset[int]:
    from matplotlib.font_manager import FontProperties, findfont, get_font

    return frozenset(get_font(findfont(FontProperties(family=FONT))).get_charmap())
