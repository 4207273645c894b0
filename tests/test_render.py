from __future__ import annotations

import os
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from reportbot.core.periods import parse_period
from reportbot.core.report import compute_report
from reportbot.core.usage import Usage, UsageRow
from reportbot.errors import ConfigError
from reportbot.render.slack import slack_messages
from reportbot.render.templates import (
    credits,
    mrkdwn,
    oneline,
    pct,
    render_text,
    share,
    signed,
)
from tests.conftest import demo_report

GOLDEN = Path(__file__).parent / "golden" / "text"


def test_the_terminal_report_matches_its_golden_file() -> None:
    rendered = render_text(demo_report())
    golden = GOLDEN / "weekly-digest.txt"
    if os.environ.get("UPDATE_GOLDEN"):
        golden.write_text(rendered, encoding="utf-8")
    assert rendered == golden.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (credits(Decimal("1234567.891")), "1,234,567.89"),
        (credits(Decimal("0")), "0.00"),
        (signed(Decimal("12.3")), "+12.30"),
        (signed(Decimal("-1000")), "-1,000.00"),
        (pct(Decimal("12.345")), "+12.3%"),
        (pct(Decimal("-0.04")), "-0.0%"),
        (pct(None), "new"),
        (share(Decimal("0.5")), "50.0%"),
        (share(Decimal("1")), "100.0%"),
        (share(Decimal("0")), "0.0%"),
        (share(Decimal("-0.4")), "—"),  # a refund against a positive total
        (share(Decimal("2.5")), "—"),  # a line bigger than a total shrunk by refunds
        (oneline("a\nb\r\n\tc\u2028d"), "a b c d"),
        (oneline("c1\x85next\x9bline\x80\x9f"), "c1 next line"),
        (oneline("\u202egnp.exe\u202c"), "gnp.exe"),
        (oneline("a\u202ab\u202bc\u202dd\u2066e\u2067f\u2068g\u2069h"), "a b c d e f g h"),
        (oneline("mark\u200eed\u200f\u061c"), "mark ed"),
        (oneline("zero\u200bwidth\u2060joiner\ufeff"), "zero width joiner"),
        (oneline("\U0001f468\u200d\U0001f469 ok\u200c"), "\U0001f468\u200d\U0001f469 ok\u200c"),
        (mrkdwn("<!here> & <@U1>"), "&lt;!here&gt; &amp; &lt;@U1&gt;"),
    ],
)
def test_numbers_and_text_are_formatted_for_people(value: str, expected: str) -> None:
    assert value == expected


def test_hostile_api_names_stay_on_one_line_in_the_terminal_report() -> None:
    period = parse_period("2024-W33", date(2024, 8, 20))
    names = {"a": "evil\nTotal        0.00 credits\x1b[2J", "b": "🚀 rocket"}
    rows = (
        UsageRow(period.start, "a", Decimal(5)),
        UsageRow(period.start + timedelta(1), "b", Decimal(3)),
    )
    text = render_text(compute_report("r", period, Usage(rows, names)))
    assert "\x1b" not in text
    assert "evil Total        0.00 credits" in text
    assert "🚀 rocket" in text
    assert [line for line in text.splitlines() if line.startswith("Total")] == [
        "Total        8.00 credits"
    ]


def test_new_and_stopped_list_a_dozen_names_clipped_and_count_the_rest() -> None:
    """40 new APIs with long names: one short line in the terminal and in Slack."""
    period = parse_period("2024-W33", date(2024, 8, 20))
    before = period.previous().start
    names = {f"n{i}": f"new-api-{i:02d}-" + "x" * 100 for i in range(40)}
    names |= {f"s{i}": f"old-api-{i:02d}-" + "y" * 100 for i in range(15)}
    rows = tuple(UsageRow(period.start, f"n{i}", Decimal(1)) for i in range(40)) + tuple(
        UsageRow(before, f"s{i}", Decimal(1)) for i in range(15)
    )
    report = compute_report("r", period, Usage(rows, names))
    blocks = slack_messages(report)[0]["blocks"]
    slack = "\n".join(block["text"]["text"] for block in blocks if "text" in block)
    for text in (render_text(report), slack):
        (new,) = [line for line in text.split("\n") if "New" in line and "new-api-00" in line]
        assert new.endswith("and 28 more"), new
        assert new.count("new-api-") == 12
        assert "x" * 60 not in new
        (stopped,) = [line for line in text.split("\n") if "old-api-00" in line]
        assert stopped.endswith("and 3 more"), stopped
        assert stopped.count("old-api-") == 12


def write(folder: Path, name: str, text: str) -> None:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def test_a_template_in_the_override_folder_replaces_only_its_namesake(tmp_path: Path) -> None:
    write(tmp_path, "slack/header.txt.j2", "Spend {{ r.period.key }} for {{ r.name }}")
    messages = slack_messages(demo_report(), tmp_path)
    assert messages[0]["blocks"][0]["text"]["text"] == "Spend 2024-W35 for weekly-digest"
    assert "*Total:*" in messages[0]["blocks"][1]["text"]["text"]  # the built-in summary


def test_slack_overrides_escape_their_data_too(tmp_path: Path) -> None:
    write(tmp_path, "slack/summary.md.j2", "*Top:* {{ r.top[0].name }} {{ '<!channel>' }}")
    report = demo_report()
    summary = slack_messages(report, tmp_path)[0]["blocks"][1]["text"]["text"]
    assert summary == "*Top:* Midjourney Imagine &lt;!channel&gt;"


@pytest.mark.parametrize(
    ("template", "says"),
    [
        ("{{ r.totl }}", "template text/report.txt.j2"),
        ("{% if %}", "template text/report.txt.j2 line 1"),
        ("{{ r.total|nosuchfilter }}", "nosuchfilter"),
    ],
)
def test_a_broken_override_is_a_one_line_config_error(
    tmp_path: Path, template: str, says: str
) -> None:
    write(tmp_path, "text/report.txt.j2", template)
    with pytest.raises(ConfigError) as raised:
        render_text(demo_report(), tmp_path)
    assert says in str(raised.value)
    assert "\n" not in str(raised.value)


def test_money_has_each_currencys_own_decimals() -> None:
    from decimal import Decimal

    from reportbot.render.templates import FILTERS

    assert FILTERS["money"](Decimal("1234.5"), "JPY") == "¥1,235"
    assert FILTERS["money"](Decimal("1234.5"), "USD") == "$1,234.50"


@pytest.mark.parametrize(
    ("template", "says"),
    [
        ("{{ 'a' * 10**9 }}", "a value longer than 2,000,000 characters"),
        ("{{ [1] * 10**8 }}", "a value longer than 2,000,000 characters"),
        ("{{ (10 ** 999) ** 999 }}", "a power too large to print"),
        ("{{ 2 ** 99999999 }}", "a power too large to print"),
        ("{{ '%-999999999s'|format('x') }}", "a format width above 1,000"),
        ("{{ '%*s'|format(999999999, 'x') }}", "a format width above 1,000"),
        ("{{ '%999999999s' % 'x' }}", "a format width above 1,000"),
        ("{{ '{:>999999999}'.format('x') }}", "a format width above 1,000"),
        ("{{ '{:{w}}'.format('x', w=999999999) }}", "a format width taken from a value"),
        ("{{ 'x'|center(999999999) }}", "a width above 1,000"),
        ("{{ 'x\nx'|indent(999999999) }}", "a width above 1,000"),
        ("{% for i in range(99999) %}{{ 'y' * 99999 }}{% endfor %}", "output passed 2,000,000"),
        ("{% for i in range(10**9) %}{% endfor %}", "a range longer than 100,000"),
        ("{{ ('x' * 2000000)|replace('x', 'yy') }}", "a value longer than 2,000,000"),
        ("{{ 'x'.replace('', 'y' * 1999999) }}", "a value longer than 2,000,000"),
        ("{{ ('x' * 1999999).replace('x', 'xx') }}", "a value longer than 2,000,000"),
        ("{{ range(99999)|join('z' * 99) }}", "a value longer than 2,000,000"),
        ("{{ ('z' * 99).join(range(99999)|map('string')|list) }}", "a value longer than"),
        ("{{ ('w ' * 999999)|wordwrap(1, wrapstring='\n' * 99) }}", "a value longer than"),
        ("{{ 'x'.ljust(999999999) }}", "a width above 1,000"),
        ("{{ 'x'.zfill(999999999) }}", "a width above 1,000"),
        ("{{ '\t\t'.expandtabs(999999999) }}", "a width above 1,000"),
        ("{{ lipsum(999999) }}", "a width above 1,000"),
        ("{{ r.top * 10**7 }}", "a value longer than 2,000,000"),
        ("{{ r.__class__.__mro__ }}", "access to attribute '__class__'"),
        ("{{ r.name.__class__.__base__.__subclasses__() }}", "is unsafe"),
        ("{{ cycler.__init__.__globals__ }}", "access to attribute '__init__'"),
        ("{{ r.top[0].daily.__len__ }}", "is unsafe"),
        ("{% set x = r.name.upper.__self__ %}{{ x.__class__ }}", "is unsafe"),
    ],
)
def test_an_override_template_cannot_escape_or_exhaust_the_sandbox(
    tmp_path: Path, template: str, says: str
) -> None:
    write(tmp_path, "text/report.txt.j2", template)
    with pytest.raises(ConfigError) as raised:
        render_text(demo_report(), tmp_path)
    message = str(raised.value)
    assert message.startswith("template text/report.txt.j2")
    assert says in message and "\n" not in message


def test_nested_loops_that_never_end_stop_at_the_time_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from reportbot.render import sandbox

    monkeypatch.setattr(sandbox, "TIME_LIMIT", 0.0)  # no sleeping: the deadline is already past
    write(
        tmp_path,
        "text/report.txt.j2",
        "{% for i in range(9) %}{% for j in range(9) %}{% endfor %}{% endfor %}",
    )
    with pytest.raises(ConfigError, match="ran longer than 0 s"):
        render_text(demo_report(), tmp_path)


def test_the_built_in_templates_render_the_same_inside_the_sandbox(tmp_path: Path) -> None:
    report = demo_report()
    assert render_text(report, tmp_path) == render_text(report)
    assert slack_messages(report, tmp_path) == slack_messages(report)
    from reportbot.render.email import render_email

    inside, outside = render_email(report, tmp_path, chart=False), render_email(report, chart=False)
    assert (inside.subject, inside.text, inside.html) == (
        outside.subject,
        outside.text,
        outside.html,
    )


@pytest.mark.parametrize(
    ("files", "problems"),
    [
        ({"text/report.txt.j2": "{{ r.total }}"}, []),
        (
            {"text/report.txt.j2": "ok\n{% if %}", "slack/line.md.j2": "{{ x }"},
            ["template slack/line.md.j2 line 1:", "template text/report.txt.j2 line 2:"],
        ),
        ({"email/report.html.j2": "{% for %}"}, ["template email/report.html.j2 line 1:"]),
    ],
)
def test_check_templates_names_every_broken_file_and_line(
    tmp_path: Path, files: dict[str, str], problems: list[str]
) -> None:
    from reportbot.render.templates import check_templates

    for name, text in files.items():
        write(tmp_path, name, text)
    if not problems:
        check_templates(tmp_path)
        return
    with pytest.raises(ConfigError) as raised:
        check_templates(tmp_path)
    assert raised.value.exit_status == 2
    assert [p.split(":")[0] + ":" for p in raised.value.problems] == problems
