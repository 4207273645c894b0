"""The parts of a report email: subject, text, HTML, chart PNG and CSV attachment.

Templates live in ``templates/email/`` (an ``email/`` folder of the same name under the
override folder replaces one): ``subject.txt.j2`` and ``report.txt.j2`` render in the
plain-text environment, ``report.html.j2`` in the autoescaped HTML one, with the same filters.
The HTML's ``<style>`` block is inlined into ``style=""`` attributes (Gmail drops a head
style on any CSS error, Outlook ignores most of it); only ``@media`` rules stay in a
``<style>`` for phones. Long lists are capped so a 300-API report stays far below Gmail's
102 KB clip: the CSV carries every row.

The chart is referenced as ``<img src="cid:chart">``, a fixed placeholder:
``destinations.email.build_message`` rewrites it to the Content-ID it gives the PNG part.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reportbot.core.report import OTHER_ID, ZERO, ApiLine, Report
from reportbot.errors import ConfigError
from reportbot.render.chart import daily_chart
from reportbot.render.csv_export import csv_filename, usage_csv
from reportbot.render.templates import Flavour, oneline, render, truncate

CHART_CID = "chart"  # the placeholder build_message(png_cid_name="chart") rewrites
CHART_WIDTH = 552  # px: the 600 px column less its padding
TABLE_ROWS = 20  # APIs listed by name in the HTML table; the rest join "Other"
SUBJECT_WIDTH = 200


@dataclass(frozen=True)
class Attachment:
    filename: str
    data: bytes
    maintype: str
    subtype: str


XLSX_TYPE = ("application", "vnd.openxmlformats-officedocument.spreadsheetml.sheet")


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    text: str
    html: str  # refers to the chart as src="cid:chart" when png is not None
    png: bytes | None
    csv_bytes: bytes
    csv_filename: str
    attachments: tuple[Attachment, ...] = ()  # what the email carries (report's `attach`)


def render_email(
    report: Report,
    override: Path | None = None,
    *,
    chart: bool = True,
    png: bytes | None = None,
    attach: tuple[str, ...] = ("csv",),
) -> RenderedEmail:
    """Render every part of the email for ``report``; ``ConfigError`` for a broken template.

    ``png`` is the chart when it was drawn already; else it is drawn here if ``chart``.
    """
    if png is None and chart:
        png = daily_chart(report)
    context = _context(report, png)
    subject = _one_line(_render("text", "subject.txt.j2", override, context))
    text = _render("text", "report.txt.j2", override, context)
    html = _inline(_render("html", "report.html.j2", override, {**context, "subject": subject}))
    csv = usage_csv(report)
    return RenderedEmail(
        subject, text, html, png, csv, csv_filename(report), _attachments(report, csv, attach)
    )


def _attachments(report: Report, csv: bytes, attach: tuple[str, ...]) -> tuple[Attachment, ...]:
    """The files the email carries: the CSV and/or the workbook (openpyxl only if asked)."""
    files = []
    if "csv" in attach:
        files.append(Attachment(csv_filename(report), csv, "text", "csv"))
    if "xlsx" in attach:
        from reportbot.render.xlsx import usage_xlsx, xlsx_filename

        files.append(Attachment(xlsx_filename(report), usage_xlsx(report), *XLSX_TYPE))
    return tuple(files)


def _one_line(text: str) -> str:
    """A header-safe subject: one line, single spaces, at most SUBJECT_WIDTH characters."""
    return truncate(" ".join(oneline(text).split()), SUBJECT_WIDTH)


def _context(report: Report, png: bytes | None) -> dict[str, Any]:
    rows, other = _table(report)
    return {
        "r": report,
        "rows": rows,
        "other": other,
        "chart": _chart(report, png),
        "csv_filename": csv_filename(report),
    }


def _table(report: Report) -> tuple[tuple[ApiLine, ...], ApiLine | None]:
    """The top APIs shown by name, and everything else as one "Other" line."""
    rows, rest = report.top[:TABLE_ROWS], list(report.top[TABLE_ROWS:])
    if not rest:
        return rows, report.other
    count = len(rest) + report.other_count
    rest += [report.other] if report.other else []
    total = sum((line.total for line in rest), ZERO)
    other = ApiLine(
        api_id=OTHER_ID,
        name=f"Other ({count} APIs)",
        total=total,
        previous=sum((line.previous for line in rest), ZERO),
        daily=tuple(sum(col, ZERO) for col in zip(*(line.daily for line in rest), strict=True)),
        share=total / report.total if report.total else ZERO,
    )
    return rows, other


def _chart(report: Report, png: bytes | None) -> dict[str, Any] | None:
    if png is None:
        return None
    width, height = struct.unpack(">II", png[16:24])  # the IHDR chunk
    busiest = report.busiest_day
    peak = f", busiest day {busiest[0]:%a %b} {busiest[0].day}" if busiest else ""
    alt = (
        f"Daily credits in {report.period.label}{peak}, "
        f"against {report.previous_period.short_label}"
    )
    height = round(CHART_WIDTH * height / width)
    return {"src": f"cid:{CHART_CID}", "width": CHART_WIDTH, "height": height, "alt": alt}


def _render(flavour: Flavour, name: str, override: Path | None, context: dict[str, Any]) -> str:
    return render(flavour, f"email/{name}", override, **context)


def _inline(html: str) -> str:
    import css_inline

    inliner = css_inline.CSSInliner(keep_at_rules=True, load_remote_stylesheets=False)
    try:
        return str(inliner.inline(html))
    except (css_inline.InlineError, ValueError) as exc:
        raise ConfigError(f"template email/report.html.j2: CSS not inlinable: {exc}") from None
