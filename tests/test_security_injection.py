"""The injection corpus: one table of hostile API names, every output checked for each.

A usage API controls API names and ids. Whatever they hold, no output may run it: no Slack
mention or link, no HTML or script, no header or line injected, no template evaluated, no
control or bidi character shown, no spreadsheet formula, and nothing grows without bound.
"""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import date
from decimal import Decimal

import pytest

from reportbot.core.periods import parse_period
from reportbot.core.report import Report, compute_report
from reportbot.destinations.email import build_message
from reportbot.render.email import render_email
from reportbot.render.slack import slack_messages
from reportbot.render.templates import render_text
from reportbot.sources.usage_body import parse_usage
from tests.fakes.usage_api import encode_json

PERIOD = parse_period("2024-W33", date(2024, 9, 3))
CORPUS: list[tuple[str, str]] = [
    ("slack-channel", "<!channel> <!here> <!everyone>"),
    ("slack-user", "<@U0123456> <#C0123456789|general> <!subteam^S0123|devs>"),
    ("slack-link", "<https://evil.example|Click to claim credits>"),
    ("slack-entities", "&lt;!channel&gt; &amp;"),
    ("mrkdwn", "*bold* _italic_ ~strike~ `code` ```block``` > quote"),
    ("html", "<script>alert(1)</script><img src=x onerror=alert(2)>"),
    ("html-attr", '" onmouseover="alert(1)" x="'),
    ("crlf-header", "API\r\nBcc: victim@example.com\r\n\r\nbody"),
    ("newlines", "line one\nTotal: 0.00 credits\n\nline three"),
    ("jinja-expression", "{{ 7*191 }}{{ r.total }}"),
    ("jinja-block", "{% raw %}{% endraw %}{% for x in y %}{# c #}"),
    ("bidi", "\u202egnp.exe\u202c \u2066iso\u2069 \u2067r\u2068f\u2069"),
    ("marks", "a\u200eb\u200fc\u061cd"),
    ("zero-width", "zero\u200bwidth\u2060join\ufeffbom"),
    ("c0", "nul\x00bel\x07bs\x08esc\x1b[2Jdel\x7f"),
    ("c1", "nel\x85csi\x9b31mst\x9cosc\x9d0;x"),
    ("osc", "\x1b]0;owned\x07\x1b]52;c;SGVsbG8=\x07title"),
    ("long", "A" * 10_000),
    ("formula", '=HYPERLINK("http://evil","x")'),
    ("formula-plus", "+1+1"),
    ("formula-at", "@SUM(1)"),
    ("formula-minus", "-1+1"),
    ("formula-fullwidth", "\uff1d1+1"),
    ("formula-space", "  =1+1"),
    ("emoji", "\U0001f680 Rocket \U0001f468\u200d\U0001f469"),
    ("mathtext", "cost $\\undefinedmacro{x}$ and $x^{2$ \\$"),
    ("mathtext-short", "$\\fake{x}$ $^$"),
    ("percent-format", "%s %d %(x)s {0} {x} %n"),
]
UNSHOWABLE = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
DISGUISED = ("\uff1d", "\uff0b", "\uff0d", "\uff20")  # fullwidth = + - @


def hostile_report(name: str) -> Report:
    body = encode_json(
        {
            "items": [
                {"date": "2024-08-12", "api_id": "evil", "amount": Decimal("10")},
                {"date": "2024-08-13", "api_id": "fine", "amount": Decimal("5")},
                {"date": "2024-08-06", "api_id": "gone", "amount": Decimal("2")},
            ],
            "apis": {
                "evil": {"title": name},
                "fine": {"title": "Fine API"},
                "gone": {"title": name},
            },
        }
    )
    usage = parse_usage(body, PERIOD.previous().start, PERIOD.end)
    return compute_report(f"r-{len(name)}", PERIOD, usage, top=5)


def slack_texts(report: Report) -> list[str]:
    """Every string of every Slack payload (mrkdwn, plain text and the fallback)."""
    found: list[str] = []

    def walk(node: object) -> None:
        if isinstance(node, str):
            found.append(node)
        elif isinstance(node, dict):
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(slack_messages(report))
    return found


IDS = [case for case, _ in CORPUS]


@pytest.mark.parametrize(("case", "name"), CORPUS, ids=IDS)
def test_slack_shows_a_hostile_name_as_text(case: str, name: str) -> None:
    texts = slack_texts(hostile_report(name))
    joined = "\n".join(texts)
    assert "<!" not in joined and "<@" not in joined and "<#" not in joined
    assert not re.search(r"<(?:https?:|mailto:)", joined)  # Slack decodes only &lt; &gt; &amp;
    assert "1337" not in joined
    assert not UNSHOWABLE.search(joined), repr(joined[:300])
    assert len(json.dumps(slack_messages(hostile_report(name)))) < 40_000


@pytest.mark.parametrize(("case", "name"), CORPUS, ids=IDS)
def test_the_terminal_report_keeps_a_hostile_name_on_one_line(case: str, name: str) -> None:
    report = hostile_report(name)
    text = render_text(report)
    plain = render_text(hostile_report("Plain"))
    assert text.count("\n") == plain.count("\n")  # nothing injected a line
    assert not UNSHOWABLE.search(text), repr(text[:300])
    assert "1337" not in text
    assert len(text) < len(plain) + 3 * len(name)  # in the table, the movers and New


@pytest.mark.parametrize(("case", "name"), CORPUS, ids=IDS)
def test_the_email_escapes_a_hostile_name_and_keeps_its_headers(case: str, name: str) -> None:
    rendered = render_email(hostile_report(name), chart=False)
    assert "<script" not in rendered.html and "<img" not in rendered.html
    assert not re.search(r"<[^>]*onmouseover", rendered.html)  # text content, not an attribute
    assert "1337" not in rendered.html + rendered.text + rendered.subject
    for part in (rendered.html, rendered.text, rendered.subject):
        assert not UNSHOWABLE.search(part), repr(part[:300])
    message = build_message(
        sender="Reportbot <bot@example.com>",
        recipient="finance@example.com",
        subject=rendered.subject,
        text=rendered.text,
        html=rendered.html,
        png=None,
        csv_bytes=rendered.csv_bytes,
        csv_filename=rendered.csv_filename,
    )
    assert message.get_all("Bcc") is None
    assert "\n" not in str(message["Subject"]) and "\r" not in str(message["Subject"])
    assert len(message.as_bytes()) < 250_000


@pytest.mark.parametrize(("case", "name"), CORPUS, ids=IDS)
def test_the_csv_never_holds_a_formula(case: str, name: str) -> None:
    report = hostile_report(name)
    rows = list(
        csv.reader(io.StringIO(render_email(report, chart=False).csv_bytes.decode("utf-8-sig")))
    )
    names = [row[2] for row in rows[1:]]
    assert name in {n.removeprefix("'") for n in names}
    for cell in (cell for row in rows[1:] for cell in row[1:3]):
        shown = cell.lstrip()
        assert not shown.startswith(FORMULA_START + DISGUISED) or cell.startswith("'"), cell


@pytest.mark.parametrize(("case", "name"), CORPUS, ids=IDS)
def test_the_workbook_never_holds_a_formula(case: str, name: str) -> None:
    from openpyxl import load_workbook

    from reportbot.render.xlsx import usage_xlsx

    book = load_workbook(io.BytesIO(usage_xlsx(hostile_report(name))))
    cells = [cell for sheet in book for row in sheet.iter_rows() for cell in row]
    assert not [cell.coordinate for cell in cells if cell.data_type == "f"]
    texts = [cell.value for cell in cells if isinstance(cell.value, str)]
    assert any("Plain" not in text and text.strip() for text in texts)
    assert not any(UNSHOWABLE.search(text) for text in texts)


@pytest.mark.parametrize(("case", "name"), CORPUS, ids=IDS)
def test_the_chart_labels_a_hostile_name_without_failing(case: str, name: str) -> None:
    from reportbot.render.chart import daily_chart

    png = daily_chart(hostile_report(name))
    assert png is not None and png.startswith(b"\x89PNG\r\n\x1a\n")
    assert len(png) < 500_000
