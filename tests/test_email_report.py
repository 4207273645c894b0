"""The email parts: golden subject/text/HTML, email-safe HTML, hostile names, size budget."""

from __future__ import annotations

import os
import re
from datetime import timedelta
from decimal import Decimal
from functools import cache
from html.parser import HTMLParser
from pathlib import Path

import pytest

from reportbot.core.periods import parse_period
from reportbot.core.report import Report, compute_report
from reportbot.core.usage import Usage, UsageRow
from reportbot.errors import ConfigError
from reportbot.render.email import TABLE_ROWS, RenderedEmail, render_email
from tests.conftest import DEMO_TODAY, demo_report

GOLDEN = Path(__file__).parent / "golden" / "email"
GMAIL_CLIP = 102 * 1024
HOSTILE = {  # by amount, smallest first: the first two are new, the last one stopped
    "h-plus": "+1 Images",
    "h-apostrophe": "'quoted",
    "h-quotes": '"quotes", commas, and more',
    "h-newline": "a\nb",
    "h-channel": "<!channel>",
    "h-emoji": "🚀 launches",
    "h-math": r"$\notacommand$ costs $5",
    "h-script": "<script>alert(1)</script>",
    "h-formula": "=cmd|' /C calc'!A0",
}


def synthetic_report(names: dict[str, str], *, top: int, new: int, stopped: int) -> Report:
    """A week with every API used daily; the first ``new`` are new, the last ``stopped`` gone."""
    period = parse_period("2024-W35", DEMO_TODAY)
    ids = list(names)
    rows = []
    for index, api_id in enumerate(ids):
        for offset in range(7):
            amount = Decimal(f"{index + 1}.{offset:02d}5")
            if index >= new:
                rows.append(UsageRow(period.start - timedelta(days=7 - offset), api_id, amount))
            if index < len(ids) - stopped:
                rows.append(UsageRow(period.start + timedelta(days=offset), api_id, amount * 2))
    usage = Usage(tuple(rows), names)
    return compute_report("hostile", period, usage, timezone="Europe/Berlin", top=top)


def hostile_report() -> Report:
    return synthetic_report(HOSTILE, top=6, new=2, stopped=1)


def many_apis_report(count: int = 300) -> Report:
    names = {
        f"api-{i:03d}-{'x' * 30}": f"Some fairly long API name number {i:03d}" for i in range(count)
    }
    return synthetic_report(names, top=count, new=20, stopped=20)


def month_report() -> Report:
    return demo_report("2024-08", top=10, name="monthly-costs")


@cache
def month_email() -> RenderedEmail:
    return render_email(month_report())


def assert_golden(name: str, actual: str) -> None:
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN") == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(actual.encode())
    assert actual == path.read_bytes().decode(), f"{name} differs: UPDATE_GOLDEN=1 to accept"


class Tags(HTMLParser):
    """Every start tag with its attributes, and the text of <style> blocks."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.styles: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        if self.tags and self.tags[-1][0] == "style":
            self.styles.append(data)


# -- golden files --


@pytest.mark.parametrize("part", ["subject", "text", "html"])
def test_the_month_email_matches_its_golden_file(part: str) -> None:
    email = month_email()
    name = {"subject": "subject.txt", "text": "txt", "html": "html"}[part]
    ending = "\n" if part == "subject" else ""  # a subject has no line break of its own
    assert_golden(f"monthly-costs-2024-08.{name}", getattr(email, part) + ending)


def test_the_subject_names_period_total_and_delta() -> None:
    assert render_email(month_report(), chart=False).subject == (
        "API usage, August 2024: 36,323.87 credits (-5.9% vs July)"
    )


def test_a_first_period_says_there_is_nothing_to_compare_with() -> None:
    period = parse_period("2024-08", DEMO_TODAY)
    usage = Usage((UsageRow(period.start, "a", Decimal("1234.5")),), {"a": "Flux"})
    email = render_email(compute_report("r", period, usage), chart=False)
    assert email.subject == "API usage, August 2024: 1,234.50 credits (none in July)"


# -- email-safe HTML --


def test_the_html_has_no_script_svg_or_remote_assets() -> None:
    html = month_email().html
    assert not re.search(r"<script|<svg|<link|<iframe|https?://|url\(", html, re.IGNORECASE)


def test_every_styled_element_carries_its_style_inline() -> None:
    parsed = Tags(month_email().html)
    for tag, attrs in parsed.tags:
        if tag in ("td", "th") or "class" in attrs:
            assert attrs.get("style"), f"<{tag} {attrs}> has no inline style"
    leftover = "".join(parsed.styles)
    assert re.sub(r"@media[^{]*\{(?:[^{}]*\{[^{}]*\})*[^{}]*\}", "", leftover).strip() == ""


def test_the_chart_is_referenced_by_cid_with_size_and_alt_text() -> None:
    email = month_email()
    img = next(attrs for tag, attrs in Tags(email.html).tags if tag == "img")
    assert img["src"] == "cid:chart"
    assert (img["width"], img["height"]) == ("552", "331")
    assert img["alt"] == "Daily credits in August 2024, busiest day Wed Aug 28, against July"
    assert email.png is not None


def test_without_a_chart_there_is_no_image_but_the_daily_totals() -> None:
    email = render_email(month_report(), chart=False)
    assert email.png is None
    assert "<img" not in email.html
    assert "Daily totals" in email.html
    assert "Wed Aug 28" in email.html


def test_an_empty_period_renders_every_part() -> None:
    period = parse_period("2024-08", DEMO_TODAY)
    email = render_email(compute_report("empty", period, Usage(())))
    assert email.subject == "API usage, August 2024: 0.00 credits"
    assert "No usage in this period." in email.text
    assert "No usage in this period." in email.html


# -- hostile names --


def test_hostile_names_are_escaped_in_the_html() -> None:
    html = render_email(hostile_report()).html
    assert "<script" not in html.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;!channel&gt;" in html
    assert "<!channel>" not in html
    assert "🚀 launches" in html
    assert "a b" in html


def test_hostile_names_stay_on_one_line_in_the_text() -> None:
    text = render_email(hostile_report()).text
    assert "a b" in text
    assert "a\nb" not in text
    assert "<script>alert(1)</script>" in text  # plain text: nothing to escape


def test_a_subject_template_cannot_break_the_header_line(tmp_path: Path) -> None:
    (tmp_path / "email").mkdir()
    (tmp_path / "email" / "subject.txt.j2").write_text(
        "{% for line in r.apis %}{{ line.name }}\r\n{% endfor %}" * 10, encoding="utf-8"
    )
    subject = render_email(hostile_report(), tmp_path, chart=False).subject
    assert "\n" not in subject and "\r" not in subject
    assert len(subject) <= 200
    assert subject.startswith("a b ") or "a b" in subject


def test_a_broken_template_is_a_config_error(tmp_path: Path) -> None:
    (tmp_path / "email").mkdir()
    (tmp_path / "email" / "report.txt.j2").write_text("{{ r.nope }}", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"template email/report\.txt\.j2"):
        render_email(month_report(), tmp_path, chart=False)


# -- size --


def test_a_300_api_report_stays_far_below_gmails_clip() -> None:
    report = many_apis_report(300)
    email = render_email(report, chart=False)
    assert len(email.html.encode()) < GMAIL_CLIP // 2
    assert email.html.count("Some fairly long API name") <= TABLE_ROWS + 5 + 2 * 12 + 1
    assert f"Other ({300 - 20 - TABLE_ROWS} APIs)" in email.html
    assert "and 8 more" in email.html  # 20 new APIs, 12 named


# -- the contract with the MIME builder --


def test_build_message_links_the_chart_and_attaches_the_csv() -> None:
    from reportbot.destinations.email import build_message

    email = month_email()
    msg = build_message(
        sender="bot@example.com",
        recipient="finance@example.com",
        subject=email.subject,
        text=email.text,
        html=email.html,
        png=email.png,
        csv_bytes=email.csv_bytes,
        csv_filename=email.csv_filename,
    )
    parts = {part.get_content_type(): part for part in msg.walk()}
    image, html = parts["image/png"], parts["text/html"].get_content()
    assert image.get_content() == email.png
    assert f'src="cid:{image["Content-ID"][1:-1]}"' in html
    assert 'src="cid:chart"' not in html
    assert parts["text/csv"].get_filename() == "usage-monthly-costs-2024-08.csv"
    assert msg["Subject"] == email.subject


def test_attach_xlsx_adds_a_workbook_beside_the_csv_and_csv_alone_is_the_default() -> None:
    from email import message_from_bytes, policy

    from reportbot.destinations.email import build_message

    default = render_email(month_report(), chart=False)
    assert [a.filename for a in default.attachments] == [default.csv_filename]
    both = render_email(month_report(), chart=False, attach=("csv", "xlsx"))
    names = [a.filename for a in both.attachments]
    assert names == [both.csv_filename, both.csv_filename.replace(".csv", ".xlsx")]
    message = build_message(
        sender="bot@example.com",
        recipient="finance@example.com",
        subject=both.subject,
        text=both.text,
        html=both.html,
        png=None,
        csv_bytes=None,
        csv_filename=None,
        attachments=both.attachments,
    )
    parsed = message_from_bytes(message.as_bytes(), policy=policy.default)
    types = [part.get_content_type() for part in parsed.iter_attachments()]  # type: ignore[attr-defined]
    assert types == [
        "text/csv",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ]
    xlsx = next(a for a in both.attachments if a.filename.endswith(".xlsx"))
    assert xlsx.data[:2] == b"PK"  # a zip: an OOXML workbook
