"""Small truths in the outputs: nothing is "new" when both periods are empty, and the email
reads in a dark-mode mail client (its colour-scheme metadata and dark rules)."""

from __future__ import annotations

import json
import re
from zoneinfo import ZoneInfo

import pytest

from reportbot.core.periods import parse_period
from reportbot.core.report import Report, compute_report
from reportbot.core.usage import Usage
from reportbot.render.email import render_email
from reportbot.render.slack import slack_messages
from reportbot.render.templates import render_text
from reportbot.sources.demo import DemoSource
from tests.conftest import DEMO_TODAY, demo_report


def empty(period: str = "2024-W33") -> Report:
    return compute_report("empty", parse_period(period, DEMO_TODAY), Usage(()))


def outputs(report: Report) -> dict[str, str]:
    mail = render_email(report, chart=False)
    return {
        "slack": json.dumps(slack_messages(report, None), ensure_ascii=False),
        "text": render_text(report),
        "email subject": mail.subject,
        "email text": mail.text,
        "email html": mail.html,
    }


@pytest.mark.parametrize("period", ["2024-W33", "2024-08", "2024-08-15"])
def test_nothing_is_new_when_both_periods_are_empty(period: str) -> None:
    for name, text in outputs(empty(period)).items():
        assert "new" not in text.replace("news", ""), name


def test_an_empty_period_says_there_was_nothing_in_either() -> None:
    shown = outputs(empty())

    assert "0.00 credits (none in W32 either)" in shown["slack"]
    assert "No usage in W32 either." in shown["slack"]
    assert "vs W32       no usage in either period" in shown["text"]


def test_a_first_period_says_there_is_nothing_to_compare_with() -> None:
    period = parse_period("2024-W35", DEMO_TODAY)
    usage = DemoSource(DEMO_TODAY).fetch(period.start, period.end, ZoneInfo("UTC"))
    shown = outputs(compute_report("first", period, usage))

    assert "(none in W34)" in shown["slack"]
    assert "No usage in W34 to compare with: all of it is new." in shown["slack"]
    assert "vs W34       no usage\n" in shown["text"]


# --- dark mode -------------------------------------------------------------------------------


def html() -> str:
    return render_email(demo_report("2024-08")).html


def test_the_email_declares_both_colour_schemes() -> None:
    page = html()

    assert '<meta name="color-scheme" content="light dark">' in page
    assert '<meta name="supported-color-schemes" content="light dark">' in page
    assert "color-scheme: light dark" in page.split("<body", 1)[0]


def dark_rules(page: str) -> dict[str, dict[str, str]]:
    block = page.split("@media (prefers-color-scheme: dark) {", 1)[1].split("\n}", 1)[0]
    rules: dict[str, dict[str, str]] = {}
    for selectors, body in re.findall(r"([^{}]+)\{([^{}]*)\}", block):
        for selector in selectors.split(","):
            for prop, value in re.findall(r"([a-z-]+)\s*:\s*([^;]+);", body):
                rules.setdefault(selector.strip(), {})[prop] = value.replace(
                    "!important", ""
                ).strip()
    return rules


def luminance(colour: str) -> float:
    def channel(c: float) -> float:
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(int(colour[i : i + 2], 16) / 255) for i in (1, 3, 5))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


@pytest.mark.parametrize("selector", [".cell", ".big", ".up", ".down", ".muted", ".sub", ".label"])
def test_every_dark_mode_text_colour_reads_on_the_dark_card(selector: str) -> None:
    rules = dark_rules(html())
    card = rules[".container"]["background-color"]

    assert contrast(rules[selector]["color"], card) >= 4.5  # WCAG AA for body text
    assert contrast(rules[".kpi"]["background-color"], rules[selector]["color"]) >= 4.5


def test_dark_mode_keeps_the_chart_on_its_own_white_background() -> None:
    assert dark_rules(html())[".chart"]["background-color"] == "#ffffff"
