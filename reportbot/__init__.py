"""reportbot: AceData Cloud API-usage cost reports to Slack and email.

The library, without the command line::

    import httpx, reportbot
    from zoneinfo import ZoneInfo

    period = reportbot.parse_period("2024-W33", today)
    with httpx.Client() as http:
        client = reportbot.UsageClient(http, "https://platform.acedata.cloud", token)
        usage = client.fetch(period.previous().start, period.end, ZoneInfo("UTC"))
    report = reportbot.compute_report("weekly", period, usage)
    print(reportbot.RenderedReport(report).text)   # .slack_messages, .email, .chart

``parse_usage(body, start, end)`` reads an aggregate body you fetched yourself. Names are
imported on first use, so ``import reportbot`` stays cheap.
"""

from __future__ import annotations

__version__ = "0.1.0"

_EXPORTS = {
    "UsageClient": "reportbot.sources.acedata",
    "parse_usage": "reportbot.sources.usage_body",
    "Usage": "reportbot.core.usage",
    "UsageRow": "reportbot.core.usage",
    "Period": "reportbot.core.periods",
    "parse_period": "reportbot.core.periods",
    "Report": "reportbot.core.report",
    "compute_report": "reportbot.core.report",
    "RenderedReport": "reportbot.render.rendered",
    "ReportbotError": "reportbot.errors",
}
__all__ = [*_EXPORTS, "__version__"]


def __getattr__(name: str) -> object:
    """The library's names, each imported from its module on first use."""
    import importlib  # not at import time: `reportbot --help` stays cheap

    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'reportbot' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
