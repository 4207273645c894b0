"""Short messages about a report, in the shape destinations send: corrections and alerts.

A ``RenderedNotice`` is a ``RenderedReport`` whose Slack messages and email are one title
and a few lines; every data string is escaped for mrkdwn and HTML. Mentions come only from
the configuration (``mention = ["@here", "U0123ABCD"]``), never from data.
"""

from __future__ import annotations

import html
from decimal import Decimal
from typing import TYPE_CHECKING

from reportbot.core.report import Report
from reportbot.render.rendered import RenderedReport
from reportbot.render.templates import mrkdwn, oneline, truncate

if TYPE_CHECKING:
    from reportbot.core.alerts import Fired
    from reportbot.core.corrections import Correction

SUBJECT_WIDTH = 200


def mention_markup(mention: str) -> str:
    """Slack's markup for a configured mention: @here, @channel, a user or a group id."""
    if mention in ("@here", "@channel", "@everyone"):
        return f"<!{mention[1:]}>"
    if mention.startswith("S"):
        return f"<!subteam^{mention}>"
    return f"<@{mention}>"


class RenderedNotice(RenderedReport):
    def __init__(
        self, report: Report, title: str, lines: list[str], *, mentions: tuple[str, ...] = ()
    ) -> None:
        super().__init__(report)
        from reportbot.render.email import RenderedEmail

        ping = " ".join(mention_markup(m) for m in mentions)
        body = "\n".join(mrkdwn(line) for line in lines)
        text = truncate(oneline(f"{title}: {lines[0]}" if lines else title), 3000)
        section = {"type": "mrkdwn", "text": truncate(f"{ping} *{mrkdwn(title)}*\n{body}", 3000)}
        self.__dict__["slack_messages"] = [
            {"text": mrkdwn(text), "blocks": [{"type": "section", "text": section}]}
        ]
        paragraphs = "".join(f"<p>{html.escape(oneline(line))}</p>" for line in lines)
        page = f"<!doctype html><html><body><h1>{html.escape(title)}</h1>{paragraphs}</body></html>"
        self.__dict__["email"] = RenderedEmail(
            subject=truncate(oneline(text), SUBJECT_WIDTH),
            text="\n".join([title, "", *lines]) + "\n",
            html=page,
            png=None,
            csv_bytes=b"",
            csv_filename="",
        )


def correction_notice(fix: Correction) -> RenderedNotice:
    """'Correction: week 33 total is now 9,120.55 credits, was 8,899.42: +2.5%, late data
    from Kling Videos (+131.96).'"""
    report, was = fix.now, fix.was
    change = fix.change
    pct = "" if was.total == 0 else f": {(report.total - was.total) * 100 / was.total:+,.1f}%"
    line = (
        f"{report.period.label} total is now {report.total:,.2f} credits, was {was.total:,.2f}{pct}"
    )
    if change.drivers:
        names = ", ".join(f"{d.name} ({d.delta:+,.2f})" for d in change.drivers)
        line += f", {'late data from' if change.delta > 0 else 'revised down for'} {names}"
    return RenderedNotice(report, f"Correction: {report.name}", [line + "."])


def alert_notice(
    report: Report, fired: Fired, *, spike_factor: Decimal, mentions: tuple[str, ...]
) -> RenderedNotice:
    """The alert for one fired rule, with the figures that made it fire."""
    from reportbot.render import insight_text

    insights = report.insights
    assert insights is not None
    if fired.rule == "budget":
        assert insights.pacing is not None
        lines = [insight_text.pacing(insights.pacing)]
    elif fired.rule == "runway":
        assert insights.runway is not None
        lines = [insight_text.runway(insights.runway)]
    else:
        lines = [insight_text.anomaly(a) for a in fired.anomalies]
        lines.append(f"(a spike is {spike_factor}× the usual level of that weekday or more)")
    title = {"budget": "over budget", "runway": "balance running low", "spike": "spike"}
    return RenderedNotice(
        report, f"Alert ({title[fired.rule]}): {report.name}", lines, mentions=mentions
    )
