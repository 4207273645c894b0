"""Corrections of periods already sent, alerts that never spam, test sends and skip_empty."""

from __future__ import annotations

import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from reportbot.config import Config, parse_reports
from reportbot.core.corrections import Said, correction
from reportbot.delivery.usage import RunResult
from reportbot.delivery.wiring import open_runner
from reportbot.ledger.store import Ledger
from reportbot.settings import Settings
from tests.conftest import demo_report
from tests.fakes.slack_api import SlackApiStub
from tests.fakes.smtp import SmtpServer

SLACK_TOKEN = "xoxb-followups"
WEEKLY = """
[[reports]]
name = "weekly"
period = "week"
timezone = "Europe/Berlin"
slack = ["#api-usage"]
email = ["finance@example.com"]
source = "demo"
"""
ALERT = """
[[reports]]
name = "watch"
kind = "alert"
timezone = "Europe/Berlin"
slack = ["#api-usage"]
monthly_budget = 32000
runway_days = 14
mention = ["@here"]
source = "demo"
"""


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@dataclass
class Rig:
    folder: Path
    slack: SlackApiStub
    smtp: SmtpServer

    def config(self, toml: str) -> Config:
        settings = Settings(  # type: ignore[call-arg]
            _env_file=None,
            slack_bot_token=SLACK_TOKEN,
            slack_api_url=self.slack.url,
            smtp_host="127.0.0.1",
            smtp_port=self.smtp.port,
            smtp_security="none",
            smtp_from="reportbot@example.com",
            REPORTBOT_DATABASE_URL=f"sqlite:///{self.folder / 'ledger.db'}",
        )
        return Config(settings, parse_reports(tomllib.loads(toml), "test"), None)

    def run(self, toml: str, now: str, **options: Any) -> RunResult:
        config = self.config(toml)
        (report,) = config.reports.values()
        with open_runner(config, with_ledger=True, now=lambda: at(now)) as runner:
            return runner.run(report, **options)

    def subjects(self) -> list[str]:
        from email import message_from_bytes, policy

        return [
            str(message_from_bytes(m.raw, policy=policy.default)["Subject"])
            for m in self.smtp.messages
        ]

    def ledger(self) -> Ledger:
        return Ledger(f"sqlite:///{self.folder / 'ledger.db'}")


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[Rig]:
    with (
        SlackApiStub(token=SLACK_TOKEN, channels={"C0123456789": "api-usage"}) as slack,
        SmtpServer() as smtp,
    ):
        yield Rig(tmp_path, slack, smtp)


# -- corrections --


def test_late_data_gets_one_correction_in_the_reports_thread_and_by_email(rig: Rig) -> None:
    first = rig.run(WEEKLY, "2024-09-02T08:00")  # Monday: W35 is the latest complete week
    assert [o.status for o in first.outcomes] == ["sent", "sent"]
    report_ts = rig.slack.posts[0].ts
    later = rig.run(WEEKLY, "2024-09-05T08:00", period="2024-W35")  # Kling's late data is in
    assert [o.status for o in later.outcomes] == ["sent", "sent"]
    correction_post = rig.slack.posts[-1]
    assert correction_post.thread_ts == report_ts
    assert "late data from Kling Videos" in (correction_post.text or "")
    assert "total is now" in (correction_post.text or "")
    assert rig.subjects()[-1].startswith("Correction:")
    again = rig.run(WEEKLY, "2024-09-05T09:00", period="2024-W35")
    assert [o.detail for o in again.outcomes] == ["already sent and corrected"] * 2
    assert len(rig.slack.posts) == 2 and len(rig.smtp.messages) == 2


def test_no_correction_below_the_threshold_or_outside_the_window(rig: Rig) -> None:
    rig.run(WEEKLY, "2024-09-02T08:00")
    same_day = rig.run(WEEKLY, "2024-09-02T09:00", period="2024-W35")
    assert [o.detail for o in same_day.outcomes] == ["already sent"] * 2
    months_later = rig.run(WEEKLY, "2024-11-05T08:00", period="2024-W35")
    assert [o.detail for o in months_later.outcomes] == ["already sent"] * 2
    assert len(rig.slack.posts) == 1


@pytest.mark.parametrize(
    ("said", "now", "threshold", "due"),
    [
        ("100", "100.50", "0.005", False),  # exactly 0.5%: not more than the threshold
        ("100", "100.51", "0.005", True),
        ("100", "99.49", "0.005", True),  # down as well as up
        ("0", "0.01", "0.005", True),  # anything after a report of nothing
        ("100", "100", "0", False),
    ],
)
def test_a_correction_is_due_beyond_the_threshold(
    said: str, now: str, threshold: str, due: bool
) -> None:
    report = demo_report("2024-W35")
    was = Said(Decimal(said), {})
    current = replace(report, total=Decimal(now))
    assert (correction(was, current, Decimal(threshold)) is not None) is due


# -- alerts --


def test_an_alert_posts_each_fired_rule_once_per_month(rig: Rig) -> None:
    first = rig.run(ALERT, "2024-09-03T08:00")
    texts = [p.blocks[0]["text"]["text"] for p in rig.slack.posts if p.blocks]
    assert len(rig.slack.posts) == 2  # budget and runway
    assert all(text.startswith("<!here>") for text in texts)
    assert any("over budget" in t and "32,000.00 budget" in t for t in texts)
    assert any("balance running low" in t and "below the 14-day warning" in t for t in texts)
    assert first.exit_status == 0
    rig.run(ALERT, "2024-09-03T09:00")  # the hourly check again: nothing new
    rig.run(ALERT, "2024-09-20T09:00")
    assert len(rig.slack.posts) == 2
    rig.run(ALERT, "2024-10-02T09:00")  # a new month: the rules may fire again
    assert len(rig.slack.posts) == 4


def test_a_quiet_alert_sends_nothing_and_exits_0(rig: Rig) -> None:
    quiet = ALERT.replace("monthly_budget = 32000", "monthly_budget = 90000").replace(
        "runway_days = 14", "runway_days = 2"
    )
    result = rig.run(quiet, "2024-09-03T08:00")
    assert result.outcomes == [] and result.exit_status == 0
    assert result.note == "quiet: no rule fired"
    assert rig.slack.posts == []


def test_an_alert_mentions_nobody_unless_configured(rig: Rig) -> None:
    rig.run(ALERT.replace('mention = ["@here"]\n', ""), "2024-09-03T08:00")
    assert rig.slack.posts
    assert all("<!" not in str(p.blocks) and "<@" not in str(p.blocks) for p in rig.slack.posts)


def test_an_alert_checks_hourly_by_default() -> None:
    (report,) = parse_reports(tomllib.loads(ALERT), "test").values()
    assert report.schedule_expression == "0 * * * *"
    assert report.period == "day"


# -- test sends and skip_empty --


def test_a_test_send_goes_to_one_destination_labelled_and_leaves_the_ledger(rig: Rig) -> None:
    config = rig.config(WEEKLY)
    report = config.reports["weekly"].model_copy(update={"slack": ("C0123456789",), "email": ()})
    with open_runner(config, with_ledger=False, now=lambda: at("2024-09-02T08:00")) as runner:
        result = runner.test_send(report)
    assert [o.status for o in result.outcomes] == ["sent"]
    assert (rig.slack.posts[0].text or "").startswith("[test send]")
    assert rig.smtp.messages == []
    assert not (rig.folder / "ledger.db").exists()


def test_skip_empty_sends_nothing_for_a_period_without_usage_and_records_why(rig: Rig) -> None:
    toml = WEEKLY + "skip_empty = true\n"
    result = rig.run(toml, "2024-09-02T08:00", period="2020-W10")  # before the demo's data
    assert {o.detail for o in result.outcomes} == {"no usage in either period (skip_empty)"}
    assert rig.slack.posts == [] and rig.smtp.messages == []
    from reportbot.cli.history_table import history_lines

    with rig.ledger() as ledger:
        lines = history_lines(ledger.history("weekly"))
    assert "skipped" in lines[1] and "no usage in either period" in lines[1]
