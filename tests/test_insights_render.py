"""A report with every insight, in all three outputs: golden files, escaping, Slack's limits."""

from __future__ import annotations

import json
import os
import re
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from reportbot.core.insights import UNAVAILABLE, BalanceReading, history_range, with_insights
from reportbot.core.periods import parse_period
from reportbot.core.report import Report, compute_report
from reportbot.core.usage import Usage, UsageRow
from reportbot.render.email import render_email
from reportbot.render.slack import slack_messages
from reportbot.render.slack_limits import validate_message
from reportbot.render.templates import render_text
from reportbot.sources.demo import DEMO_MONTHLY_BUDGET, DEMO_RUNWAY_DAYS, LATE_API, DemoSource
from tests.conftest import DEMO_TODAY
from tests.test_email_report import Tags

GOLDEN = Path(__file__).parent / "golden" / "insights"


def insightful_report(
    period: str = "2024-W35",
    *,
    name: str = "weekly-digest",
    top: int = 8,
    balance: BalanceReading = None,
) -> Report:
    """The demo account's report with its history, budget, balance and runway threshold."""
    chosen = parse_period(period, DEMO_TODAY)
    source = DemoSource(DEMO_TODAY)
    usage = source.fetch(history_range(chosen), chosen.end, ZoneInfo("UTC"))
    report = compute_report(
        name,
        chosen,
        usage,
        timezone="Europe/Berlin",
        top=top,
        credit_price=Decimal("0.095215"),
    )
    return with_insights(
        report,
        usage,
        DEMO_TODAY,
        budget=DEMO_MONTHLY_BUDGET,
        balance=source.balance() if balance is None else balance,
        runway_days=DEMO_RUNWAY_DAYS,
    )


def assert_golden(name: str, actual: str) -> None:
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(actual.encode())
    assert actual == path.read_bytes().decode(), f"{name} differs: UPDATE_GOLDEN=1 to accept"


def test_the_terminal_report_with_every_insight_matches_its_golden_file() -> None:
    assert_golden("weekly-digest.txt", render_text(insightful_report()))


def test_the_slack_report_with_every_insight_matches_its_golden_file() -> None:
    messages = slack_messages(insightful_report())
    assert_golden("weekly-digest.json", json.dumps(messages, indent=2, ensure_ascii=False) + "\n")
    for message in messages:
        validate_message(message)


@pytest.mark.parametrize("part", ["subject", "text", "html"])
def test_the_email_with_every_insight_matches_its_golden_file(part: str) -> None:
    email = render_email(insightful_report("2024-08", name="monthly-costs", top=10), chart=False)
    name = {"subject": "subject.txt", "text": "txt", "html": "html"}[part]
    ending = "\n" if part == "subject" else ""
    assert_golden(f"monthly-costs-2024-08.{name}", getattr(email, part) + ending)


@pytest.mark.parametrize("balance", [None, UNAVAILABLE, Decimal(10_000_000)])
def test_the_insights_html_is_email_safe_and_styled_inline(balance: BalanceReading) -> None:
    report = insightful_report("2024-08", name="monthly-costs", balance=balance)
    html = render_email(report, chart=False).html
    assert not re.search(r"<script|<svg|<link|<iframe|https?://|url\(", html, re.IGNORECASE)
    for tag, attrs in Tags(html).tags:
        if tag in ("td", "th") or "class" in attrs:
            assert attrs.get("style"), f"<{tag} {attrs}> has no inline style"


def test_every_output_says_the_same_four_things() -> None:
    report = insightful_report()
    slack = json.dumps(slack_messages(report), ensure_ascii=False)
    email = render_email(report, chart=False)
    why = "+543.99 credits (+6.8%) vs W34, 94% of it from Kling Videos (+509.32)."
    spike = "Wed Aug 28: Kling Videos 716.07 credits, 6.7× a usual Wednesday (107.17)"
    pace = "September so far: 422.09 credits in 1 day; on pace for 34,966.46 by Sep 30"
    balance = "Balance 11,250.00 credits: "
    for output in (render_text(report), slack, email.text, email.html):
        assert all(part in output for part in (why, spike, pace, balance)), output[:400]


def test_the_why_sentence_comes_before_the_totals_everywhere() -> None:
    report = insightful_report()
    email = render_email(report, chart=False)
    summary = slack_messages(report)[0]["blocks"][1]["text"]["text"]
    below_title = email.html[email.html.index("</h1>") :]  # the hidden preheader has the total
    for output in (render_text(report), summary, email.text, below_title):
        assert output.index("of it from Kling Videos") < output.index("8,596.43")


def test_an_unavailable_balance_is_said_in_every_output() -> None:
    report = insightful_report(balance=UNAVAILABLE)
    email = render_email(report, chart=False)
    slack = json.dumps(slack_messages(report))
    for output in (render_text(report), slack, email.text, email.html):
        assert "Balance unavailable." in output


def test_a_report_without_insights_renders_as_before() -> None:
    report = replace(insightful_report(), insights=None)
    assert "Anomalies" not in render_text(report)
    assert "Anomalies" not in json.dumps(slack_messages(report))
    assert "Anomalies" not in render_email(report, chart=False).html


def hostile_spike() -> Report:
    period = parse_period("2024-W33", DEMO_TODAY)
    since = history_range(period)
    days = [since + timedelta(days=i) for i in range((period.end - since).days + 1)]
    rows = [UsageRow(d, "evil", Decimal(10)) for d in days]
    rows.append(UsageRow(date(2024, 8, 15), "evil", Decimal(90)))
    names = {"evil": "<!channel> <https://evil.example|click> & <script>x</script>\nTotal"}
    usage = Usage(tuple(rows), names)
    return with_insights(compute_report("r", period, usage), usage, DEMO_TODAY)


def test_api_names_in_insights_are_escaped_for_each_output() -> None:
    report = hostile_spike()
    slack = json.dumps(slack_messages(report))
    assert "<!channel>" not in slack and "&lt;!channel&gt;" in slack
    assert "<https://" not in slack
    html = render_email(report, chart=False).html
    assert "<script>x" not in html and "&lt;script&gt;x" in html
    text = render_text(report)
    assert "\nTotal 100.00" not in text
    assert "Thu Aug 15: <!channel> <https://evil.example|click> & <script>x</script> Total" in text


def test_the_demo_account_gains_late_data_for_the_week_it_just_sent() -> None:
    week = parse_period("2024-W35", DEMO_TODAY)
    zone = ZoneInfo("UTC")
    sent = DemoSource(date(2024, 9, 2)).fetch(week.start, week.end, zone).rows
    later = DemoSource(date(2024, 9, 5)).fetch(week.start, week.end, zone).rows
    changed = {(r.day, r.api_id) for r in set(sent) ^ set(later)}
    # only Kling Videos' last three days (Aug 30 - Sep 1), which were less than 3 days old
    assert changed == {(date(2024, 8, d), LATE_API) for d in (30, 31)} | {
        (date(2024, 9, 1), LATE_API)
    }
    gained = sum(r.amount for r in later) - sum(r.amount for r in sent)
    assert gained / sum(r.amount for r in sent) > Decimal("0.005")  # above the default threshold


def many_spikes() -> Report:
    """Ten APIs at 10 a day and one at 1,000; in week 33 API n spends 10 × (n + 2) on one day."""
    period = parse_period("2024-W33", DEMO_TODAY)
    since = history_range(period)
    days = [since + timedelta(days=i) for i in range((period.end - since).days + 1)]
    rows = [UsageRow(d, f"api-{n}", Decimal(10)) for d in days for n in range(10)]
    rows += [UsageRow(d, "base", Decimal(1000)) for d in days]
    spiking = [(period.start + timedelta(days=n % 7), f"api-{n}", 10 * (n + 2)) for n in range(10)]
    rows = [r for r in rows if (r.day, r.api_id) not in {(d, a) for d, a, _ in spiking}]
    rows += [UsageRow(d, a, Decimal(v)) for d, a, v in spiking]
    usage = Usage(tuple(rows), {f"api-{n}": f"API {n}" for n in range(10)})
    return with_insights(compute_report("r", period, usage), usage, DEMO_TODAY)


def test_a_report_lists_the_eight_largest_anomalies_in_day_order() -> None:
    report = many_spikes()
    assert report.insights is not None
    shown = report.insights.top_anomalies()
    # API n departs by 10 × (n + 1) from its usual 10 (threshold 3.5 × max(0, 1.5) = 5.25):
    # all ten are anomalies, API 0 and API 1 the smallest. The totals stay within their
    # threshold: at most +30 + 100 on a usual 1,100 (3.5 × 15% × 1,100 = 577.5)
    assert {a.name for a in shown} == {f"API {n}" for n in range(2, 10)}
    assert [a.day for a in shown] == sorted(a.day for a in shown)
    text = render_text(report)
    assert "  and 2 smaller\n" in text
    assert "…and 2 smaller" in json.dumps(slack_messages(report), ensure_ascii=False)
    assert "and 2 smaller" in render_email(report, chart=False).html
