"""``reportbot list``, ``check`` and ``history`` as a new user runs them: real subprocesses
against the local usage API, Slack stub and SMTP server, for good and for broken settings."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner

from reportbot.cli.commands import cli
from tests.conftest import subprocess_env
from tests.fakes.cli import reportbot_env, run_reportbot
from tests.fakes.slack_api import WEBHOOK_PATH, SlackApiStub
from tests.fakes.smtp import SmtpServer, _test_ca
from tests.fakes.usage_api import UsageApiServer
from tests.test_cli_run import NAMES, ROWS, SLACK_TOKEN, TOKEN

pytestmark = pytest.mark.slow

SMTP_USER, SMTP_PASSWORD = "reportbot", "SMTPSECRET-pw"
CONFIG = """
[[reports]]
name = "weekly-digest"
period = "week"
timezone = "Europe/Berlin"
slack = ["#api-usage", "C0000000002", "webhook"]

[[reports]]
name = "monthly-costs"
period = "month"
timezone = "America/New_York"
email = ["finance@example.com"]
"""
SECRETS = (TOKEN, SLACK_TOKEN, SMTP_PASSWORD, "TOPSECRET", "SLACKSECRET", "XXXXXXXXXXXX")


@dataclass
class World:
    folder: Path
    api: UsageApiServer
    slack: SlackApiStub
    smtp: SmtpServer

    @property
    def ledger(self) -> Path:
        return self.folder / "ledger.db"

    def run(
        self, *args: str, now: datetime | None = None, **env: str
    ) -> subprocess.CompletedProcess[str]:
        base = reportbot_env(
            self.folder,
            api=self.api,
            api_token=TOKEN,
            slack=self.slack,
            slack_token=SLACK_TOKEN,
            webhook=True,
            smtp=self.smtp,
            smtp_login=(SMTP_USER, SMTP_PASSWORD),
            ca_file=self.folder / "test-ca.pem",
            **env,
        )
        result = run_reportbot(self.folder, base, *args, now=now)
        assert "Traceback" not in result.stderr, result.stderr
        for secret in SECRETS:
            assert secret not in result.stdout + result.stderr
        return result


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    (tmp_path / "reportbot.toml").write_text(CONFIG, encoding="utf-8")
    _test_ca().cert_pem.write_to_path(str(tmp_path / "test-ca.pem"))
    channels = {"C0123456789": "api-usage", "C0000000002": "finance"}
    with (
        UsageApiServer(token=TOKEN) as api,
        SlackApiStub(token=SLACK_TOKEN, channels=channels) as slack,
        SmtpServer(mode="starttls", auth=(SMTP_USER, SMTP_PASSWORD)) as smtp,
    ):
        api.serve_rows(ROWS, NAMES)
        yield World(tmp_path, api, slack, smtp)


def lines_starting(result: subprocess.CompletedProcess[str], mark: str) -> list[str]:
    return [line for line in result.stdout.splitlines() if line.startswith(mark)]


# --- list ----------------------------------------------------------------------------------


def test_list_shows_schedules_in_words_and_next_runs_in_each_zone(world: World) -> None:
    saturday = datetime(2024, 10, 26, 12, 0, tzinfo=ZoneInfo("Europe/Berlin"))
    result = world.run("list", now=saturday)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[:6] == [
        "weekly-digest  (week)",
        "  schedule   Mondays at 09:00 (Europe/Berlin); crontab 0 9 * * 1",
        "  next run   Mon 2024-10-28 09:00 CET",  # after the clocks went back
        "  sends to   slack:#api-usage, slack:C0000000002, slack:webhook",
        "  latest     2024-W42: 3 not sent",
        "  last sent  never (no ledger yet)",
    ]
    assert "  next run   Fri 2024-11-01 09:00 EDT" in result.stdout
    monthly = "on the 1st of every month at 09:00 (America/New_York); crontab 0 9 1 * *"
    assert f"  schedule   {monthly}" in result.stdout
    assert not world.ledger.exists()


def test_list_shows_the_last_delivery_once_there_is_one(world: World) -> None:
    assert world.run("run", "weekly-digest", "--period", "2024-W33").returncode == 0
    result = world.run("list")
    assert result.returncode == 0, result.stderr
    assert "  last sent  2024-W33 to slack:" in result.stdout
    assert "  last sent  never\n" in result.stdout  # monthly-costs, ledger present


def test_list_with_a_broken_config_exits_2_naming_the_problem(world: World) -> None:
    (world.folder / "reportbot.toml").write_text(
        '[[reports]]\nname = "x"\nschedule = "0 9 * * 8"\nslack = ["#a"]\n', encoding="utf-8"
    )
    result = world.run("list")
    assert result.returncode == 2
    assert "report 'x': schedule: bad day_of_week" in result.stderr


# --- check ---------------------------------------------------------------------------------


def test_check_passes_for_a_good_config_and_sends_nothing(world: World) -> None:
    result = world.run("check")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.splitlines() == [
        "✓ config: reportbot.toml: 2 reports (weekly-digest, monthly-costs)",
        f"✓ ledger: sqlite:///{world.ledger}: not created yet; the first run creates it",
        "✓ usage API (weekly-digest, monthly-costs): token accepted; "
        + result.stdout.split("token accepted; ")[1].splitlines()[0],
        "✓ Slack token: accepted (Test Team / reportbot)",
        "✓ Slack channel #api-usage: #api-usage (C0123456789), the bot is a member",
        "✓ Slack channel C0000000002: #finance (C0000000002), the bot is a member",
        "✓ Slack webhook: live (it refused an empty test message)",
        f"✓ SMTP: 127.0.0.1:{world.smtp.port} starttls, logged in as reportbot",
    ]
    assert world.slack.posts == [] and world.smtp.messages == []
    assert not world.ledger.exists()


def test_check_with_a_rejected_token_exits_1_saying_what_to_do(world: World) -> None:
    result = world.run("check", ACEDATA_TOKEN="platform-v1-wrong")
    assert result.returncode == 1
    (failed,) = lines_starting(result, "✗")
    assert failed.startswith("✗ usage API (weekly-digest, monthly-costs): ")
    assert "ACEDATA_TOKEN" in failed and "platform tokens page" in failed
    assert "reportbot: 1 check failed" in result.stderr


def test_check_names_an_unknown_channel_and_one_the_bot_is_not_in(world: World) -> None:
    (world.folder / "reportbot.toml").write_text(
        CONFIG.replace('"#api-usage"', '"#nope"'), encoding="utf-8"
    )
    world.slack.not_member.add("C0000000002")
    result = world.run("check")
    assert result.returncode == 1
    assert lines_starting(result, "✗") == [
        "✗ Slack channel #nope: channel_not_found: check the name or id; "
        "a private channel shows only once the bot is in it",
        "✗ Slack channel C0000000002: not_in_channel: the bot is not in #finance "
        "(C0000000002): invite the bot with /invite @reportbot (or grant it chat:write.public)",
    ]


def test_check_reports_a_refused_smtp_login_without_the_password(world: World) -> None:
    result = world.run("check", SMTP_PASSWORD="SMTPSECRET-wrong")
    assert result.returncode == 1
    assert lines_starting(result, "✗") == [
        "✗ SMTP: SMTP login failed for reportbot: check SMTP_USERNAME/SMTP_PASSWORD"
    ]
    assert "SMTPSECRET-wrong" not in result.stdout + result.stderr


def test_check_with_a_revoked_slack_token_skips_the_channel_checks(world: World) -> None:
    result = world.run("check", SLACK_BOT_TOKEN="xoxb-revoked")
    assert result.returncode == 1
    (failed,) = lines_starting(result, "✗")
    assert failed.startswith("✗ Slack token: Slack rejected SLACK_BOT_TOKEN (invalid_auth)")
    assert "Slack channel" not in result.stdout


def test_check_says_a_removed_webhook_is_gone_without_showing_its_url(world: World) -> None:
    dead = world.slack.webhook_url.replace(WEBHOOK_PATH, "/services/T0/B0/XXXXXXXXXXXXdead")
    result = world.run("check", SLACK_WEBHOOK_URL=dead)
    assert result.returncode == 1
    (failed,) = lines_starting(result, "✗")
    assert failed.startswith("✗ Slack webhook: the webhook is gone (HTTP 404")
    assert "update SLACK_WEBHOOK_URL" in failed


def test_check_lists_missing_variables_as_failures_runs_the_rest_and_exits_2(
    world: World,
) -> None:
    result = world.run("check", SMTP_HOST="", SLACK_BOT_TOKEN="")
    assert result.returncode == 2
    assert lines_starting(result, "✗") == [
        "✗ environment: report 'weekly-digest': slack: SLACK_BOT_TOKEN is not set",
        "✗ environment: report 'monthly-costs': email: SMTP_HOST and SMTP_FROM must be set",
    ]
    assert [line.split(":")[0] for line in lines_starting(result, "✓")] == [
        "✓ config",
        "✓ ledger",
        "✓ usage API (weekly-digest, monthly-costs)",
        "✓ Slack webhook",
    ]
    assert "reportbot: 2 checks failed" in result.stderr
    assert world.slack.calls == ["webhook"] and world.smtp.messages == []  # no token, no Web API


# --- history -------------------------------------------------------------------------------


def test_history_is_the_ledger_as_a_table_with_one_line_errors(world: World) -> None:
    world.slack.not_member.add("C0000000002")
    assert world.run("run", "weekly-digest", "--period", "2024-W33").returncode == 1
    result = world.run("history")
    assert result.returncode == 0, result.stderr
    header, *rows = result.stdout.splitlines()
    assert header.split() == [
        "report", "period", "destination", "status", "attempts", "when", "(UTC)", "error"
    ]  # fmt: skip
    assert len(rows) == 3
    failed = next(row for row in rows if " failed " in row)
    assert failed.split()[:5] == ["weekly-digest", "2024-W33", "slack:C0000000002", "failed", "1"]
    assert "Slack refused posting to C0000000002 (not_in_channel)" in failed
    assert len(failed) < 200 and failed.endswith("…")


def test_history_filters_by_report_and_limits_rows(world: World) -> None:
    assert world.run("run", "weekly-digest", "--period", "2024-W33").returncode == 0
    assert len(world.run("history", "weekly-digest").stdout.splitlines()) == 4
    assert len(world.run("history", "weekly-digest", "--limit", "1").stdout.splitlines()) == 2
    nothing = world.run("history", "monthly-costs")
    assert nothing.stdout == "no deliveries recorded for monthly-costs yet\n"


def test_history_without_a_ledger_says_so_and_creates_nothing(world: World) -> None:
    result = world.run("history")
    assert result.returncode == 0
    assert result.stdout == "no deliveries recorded yet\n"
    assert not world.ledger.exists()


# --- help and start-up ---------------------------------------------------------------------


@pytest.mark.parametrize("command", ["serve", "list", "check", "history"])
def test_every_new_command_has_help_with_an_example(command: str) -> None:
    result = CliRunner().invoke(cli, [command, "--help"])
    assert result.exit_code == 0
    assert "Example: reportbot " in result.output


def test_help_imports_none_of_the_heavy_libraries(tmp_path: Path) -> None:
    probe = (
        "import sys; sys.argv = ['reportbot', '--help']\n"
        "from reportbot.cli.commands import cli\n"
        "try:\n    cli.main(standalone_mode=False)\nexcept SystemExit:\n    pass\n"
        "heavy = ('apscheduler', 'sqlalchemy', 'slack_sdk', 'matplotlib', 'httpx', 'pydantic')\n"
        "print(sorted(m for m in heavy if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=tmp_path,
        env=subprocess_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.stdout.strip().splitlines()[-1] == "[]", result.stdout + result.stderr
