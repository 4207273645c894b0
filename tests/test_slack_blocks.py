from __future__ import annotations

import json
import os
import re
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from reportbot.core.periods import parse_period
from reportbot.core.report import compute_report
from reportbot.core.usage import Usage, UsageRow
from reportbot.render.slack import slack_messages
from reportbot.render.slack_limits import validate_message
from tests.conftest import demo_report

GOLDEN = Path(__file__).parent / "golden" / "slack"
HOSTILE = {
    "ping": "<!channel> pay attention",
    "link": "<https://evil.example|click me>",
    "amp": "R&D & friends",
    "newline": "two\nlines\r\nhere",
    "user": "<@U012345> hi",
}


def mrkdwn_texts(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["text"]] if node.get("type") == "mrkdwn" else []
        return found + [t for v in node.values() for t in mrkdwn_texts(v)]
    if isinstance(node, list):
        return [t for v in node for t in mrkdwn_texts(v)]
    return []


def week_report(names: dict[str, str], amounts: dict[str, Decimal], top: int = 10):  # type: ignore[no-untyped-def]
    period = parse_period("2024-W33", date(2024, 8, 20))
    rows = tuple(UsageRow(period.start + timedelta(days=1), a, amt) for a, amt in amounts.items())
    return compute_report("r", period, Usage(rows, names), top=top)


def test_the_weekly_digest_matches_its_golden_file() -> None:
    messages = slack_messages(demo_report())
    golden = GOLDEN / "weekly-digest.json"
    rendered = json.dumps(messages, indent=2, ensure_ascii=False) + "\n"
    if os.environ.get("UPDATE_GOLDEN"):
        golden.write_text(rendered, encoding="utf-8")
    assert rendered == golden.read_text(encoding="utf-8")


def test_every_message_has_a_text_fallback_and_fits_slack() -> None:
    for message in slack_messages(demo_report()):
        assert message["text"]
        validate_message(message)


def test_hostile_api_names_cannot_ping_link_or_break_lines() -> None:
    names = {key: value for key, value in HOSTILE.items()}
    report = week_report(names, {key: Decimal(10 + i) for i, key in enumerate(HOSTILE)})
    messages = slack_messages(report)
    texts = mrkdwn_texts(messages) + [m["text"] for m in messages]
    joined = "\n".join(texts)
    assert "<!channel>" not in joined and "<https://" not in joined and "<@U" not in joined
    assert "&lt;!channel&gt; pay attention" in joined
    assert "R&amp;D &amp; friends" in joined
    assert "two lines here" in joined
    for text in texts:
        assert not re.search(r"&(?!amp;|lt;|gt;)", text), text


def test_a_report_of_300_apis_is_split_into_messages_that_each_fit() -> None:
    amounts = {f"api-{i:03d}": Decimal(1000 - i) for i in range(300)}
    names = {a: f"A rather long API name number {a} with padding" for a in amounts}
    messages = slack_messages(week_report(names, amounts, top=300))
    assert len(messages) > 1
    for message in messages:
        validate_message(message)
    listed = re.findall(r"\*A rather long API name number (api-\d{3})", json.dumps(messages))
    assert listed[:300] == list(amounts)  # every API, in rank order, across the messages
    assert "(2/" in messages[1]["blocks"][0]["text"]["text"]


@settings(max_examples=40, deadline=None)
@given(
    count=st.integers(min_value=0, max_value=400),
    name_length=st.integers(min_value=1, max_value=400),
    top=st.integers(min_value=1, max_value=400),
)
def test_any_report_splits_within_slack_limits(count: int, name_length: int, top: int) -> None:
    amounts = {f"id{i}": Decimal(i + 1) for i in range(count)}
    names = {a: ("<&>" * name_length)[:name_length] for a in amounts}
    messages = slack_messages(week_report(names, amounts, top=top))
    for message in messages:
        validate_message(message)
