"""``reportbot run`` end to end: a real subprocess against a local usage API and Slack stub."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from reportbot.ledger.store import Ledger
from tests.conftest import subprocess_env
from tests.fakes.cli import reportbot_env, run_reportbot
from tests.fakes.slack_api import SlackApiStub
from tests.fakes.usage_api import UsageApiServer

TOKEN = "platform-v1-TOPSECRET-0123456789"
SLACK_TOKEN = "xoxb-SLACKSECRET-42"
CONFIG = """
[[reports]]
name = "weekly-digest"
period = "week"
timezone = "Europe/Berlin"
top = 2
slack = ["#api-usage", "C0000000002"]
"""
# 2024-W33 (Aug 12-18) against 2024-W32 (Aug 5-11).
ROWS = [
    {"date": "2024-08-12", "api_id": "mj", "amount": "100.50"},
    {"date": "2024-08-14", "api_id": "mj", "amount": "50"},
    {"date": "2024-08-18", "api_id": "suno", "amount": "20.25"},
    {"date": "2024-08-13", "api_id": "new", "amount": "5"},
    {"date": "2024-08-13", "api_id": "tiny", "amount": "1"},
    {"date": "2024-08-06", "api_id": "mj", "amount": "120"},
    {"date": "2024-08-07", "api_id": "suno", "amount": "30"},
    {"date": "2024-08-08", "api_id": "gone", "amount": "7.5"},
    {"date": "2024-08-19", "api_id": "mj", "amount": "999"},  # next week: not asked for
]
NAMES = {"mj": "Midjourney Imagine", "suno": "Suno Audios", "gone": "Pika Videos"}


@dataclass
class World:
    folder: Path
    api: UsageApiServer
    slack: SlackApiStub

    def run(self, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
        base = reportbot_env(
            self.folder,
            api=self.api,
            api_token=TOKEN,
            slack=self.slack,
            slack_token=SLACK_TOKEN,
            **env,
        )
        return run_reportbot(self.folder, base, *args)


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    (tmp_path / "reportbot.toml").write_text(CONFIG, encoding="utf-8")
    channels = {"C0123456789": "api-usage", "C0000000002": "finance"}
    with (
        UsageApiServer(token=TOKEN) as api,
        SlackApiStub(token=SLACK_TOKEN, channels=channels) as slack,
    ):
        api.serve_rows(ROWS, NAMES)
        yield World(tmp_path, api, slack)


def assert_no_secret(result: subprocess.CompletedProcess[str]) -> None:
    for secret in (TOKEN, SLACK_TOKEN, "TOPSECRET", "SLACKSECRET"):
        assert secret not in result.stdout + result.stderr


def assert_one_line_error(result: subprocess.CompletedProcess[str], status: int) -> None:
    assert result.returncode == status, result.stderr
    assert "Traceback" not in result.stderr
    assert_no_secret(result)


def test_it_posts_the_week_over_week_digest_to_every_channel(world: World) -> None:
    result = world.run("run", "weekly-digest", "--period", "2024-W33")
    assert result.returncode == 0, result.stderr
    assert_no_secret(result)
    (request,) = world.api.usage_requests
    # the 8 weeks before W33 (for the anomalies), W32 and W33 in one request, Berlin days
    assert request.param("created_at_from") == "2024-06-16T22:00:00Z"
    assert request.param("created_at_to") == "2024-08-18T21:59:59Z"
    assert request.param("timezone") == "Europe/Berlin"
    assert [p.channel for p in world.slack.posts] == ["C0123456789", "C0000000002"]
    text = json.dumps(world.slack.posts[0].blocks, ensure_ascii=False)
    # 100.50 + 50 + 20.25 + 5 + 1 = 176.75 vs 120 + 30 + 7.5 = 157.50: +19.25 (+12.2%)
    assert "*Total:* 176.75 credits" in text
    assert "*+19.25* (+12.2%) vs W32 (157.50)" in text
    assert "1. *Midjourney Imagine* · 150.50 (85.1%) · ▲ +30.50 (+25.4%)" in text
    assert "*Other (2 APIs)* · 6.00 (3.4%)" in text
    assert "*Stopped:* Pika Videos" in text and "*New:* new, tiny" in text
    assert world.slack.posts[0].text.startswith("API usage week 33, 2024")
    assert "✓ weekly-digest 2024-W33 slack:#api-usage: sent" in result.stdout


def test_running_again_sends_nothing_twice(world: World) -> None:
    assert world.run("run", "weekly-digest", "--period", "2024-W33").returncode == 0
    again = world.run("run", "weekly-digest", "--period", "2024-W33")
    assert again.returncode == 0, again.stderr
    assert len(world.slack.posts) == 2
    assert "slack:#api-usage: skipped (already sent)" in again.stdout
    forced = world.run("run", "weekly-digest", "--period", "2024-W33", "--force")
    assert forced.returncode == 0 and len(world.slack.posts) == 4


def test_dry_run_prints_the_report_and_payloads_and_sends_nothing(world: World) -> None:
    result = world.run("run", "weekly-digest", "--period", "2024-W33", "--dry-run")
    assert result.returncode == 0, result.stderr
    assert "Total        176.75 credits" in result.stdout
    assert '"type": "header"' in result.stdout
    assert world.slack.posts == []
    assert not (world.folder / "ledger.db").exists()


def test_a_rejected_token_is_one_line_and_exit_1(world: World) -> None:
    result = world.run(
        "run", "weekly-digest", "--period", "2024-W33", ACEDATA_TOKEN="platform-v1-wrong"
    )
    assert_one_line_error(result, 1)
    assert "platform tokens page" in result.stderr
    assert world.slack.posts == []


def test_a_malformed_body_is_an_error_not_a_report_of_zeros(world: World) -> None:
    world.api.respond_next(200, {"unexpected": True})
    result = world.run("run", "weekly-digest", "--period", "2024-W33")
    assert_one_line_error(result, 1)
    assert "unexpected" in result.stderr and world.slack.posts == []


def test_one_failing_channel_does_not_stop_the_others(world: World) -> None:
    world.slack.not_member.add("C0000000002")
    result = world.run("run", "weekly-digest", "--period", "2024-W33")
    assert_one_line_error(result, 1)
    assert [p.channel for p in world.slack.posts] == ["C0123456789"]
    assert (
        "/invite @reportbot" in result.stderr
        and "✗ weekly-digest 2024-W33 slack:C0000000002: failed" in result.stdout
    )
    world.slack.not_member.clear()
    retried = world.run("run", "weekly-digest", "--period", "2024-W33")
    assert retried.returncode == 0, retried.stderr
    assert [p.channel for p in world.slack.posts] == ["C0123456789", "C0000000002"]


def test_a_revoked_slack_token_fails_every_channel_with_exit_1(world: World) -> None:
    result = world.run("run", "weekly-digest", "--period", "2024-W33", SLACK_BOT_TOKEN="xoxb-bad")
    assert_one_line_error(result, 1)
    assert result.stderr.count("SLACK_BOT_TOKEN") == 2


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["run", "nope"], "unknown report nope"),
        (["run"], "name one or more reports, or pass --all"),
        (["run", "weekly-digest", "--period", "2024-W99"], "bad period"),
        (["run", "weekly-digest", "--out", "x"], "--out goes with --dry-run"),
    ],
)
def test_bad_usage_exits_2_before_any_network_call(
    world: World, args: list[str], expected: str
) -> None:
    result = world.run(*args)
    assert_one_line_error(result, 2)
    assert expected in result.stderr
    assert world.api.requests == [] and world.slack.posts == []


def test_missing_credentials_exit_2_naming_each_variable(world: World) -> None:
    result = world.run("run", "--all", ACEDATA_TOKEN="", SLACK_BOT_TOKEN="")
    assert_one_line_error(result, 2)
    assert "ACEDATA_TOKEN is not set" in result.stderr
    assert "SLACK_BOT_TOKEN is not set" in result.stderr


def test_a_broken_config_file_exits_2_with_every_problem(world: World) -> None:
    (world.folder / "reportbot.toml").write_text(
        '[[reports]]\nname = "a"\ntimezone = "Mars/Base"\n', encoding="utf-8"
    )
    result = world.run("run", "a")
    assert_one_line_error(result, 2)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 2 and all(line.startswith("reportbot: error: ") for line in lines)


def test_demo_shows_a_real_report_without_credentials(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "reportbot", "demo"],
        cwd=tmp_path,
        env=subprocess_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "Total" in result.stdout and "Midjourney Imagine" in result.stdout
    assert "Stopped: Pika Videos" in result.stdout


def test_a_chart_is_uploaded_to_each_channel_after_the_digest(world: World) -> None:
    (world.folder / "reportbot.toml").write_text(CONFIG + "chart = true\n", encoding="utf-8")
    result = world.run("run", "weekly-digest", "--period", "2024-W33")
    assert result.returncode == 0, result.stderr
    assert [u.channel for u in world.slack.uploads] == ["C0123456789", "C0000000002"]
    assert world.slack.uploads[0].data.startswith(b"\x89PNG\r\n\x1a\n")
    assert world.slack.uploads[0].filename == "weekly-digest-2024-W33.png"


def test_a_chart_that_cannot_be_uploaded_leaves_the_digest_sent_and_says_why(world: World) -> None:
    (world.folder / "reportbot.toml").write_text(CONFIG + "chart = true\n", encoding="utf-8")
    world.slack.fail_next("files.getUploadURLExternal", error="missing_scope", times=2)
    result = world.run("run", "weekly-digest", "--period", "2024-W33")
    assert result.returncode == 0, result.stderr
    assert "chart not uploaded" in result.stdout
    assert "files:write" in result.stderr
    assert len(world.slack.posts) == 2
    assert world.slack.uploads == []
    again = world.run("run", "weekly-digest", "--period", "2024-W33")
    assert len(world.slack.posts) == 2, again.stdout


def test_run_all_delivers_every_report_at_once_sharing_one_ledger(world: World) -> None:
    reports = "".join(
        f'\n[[reports]]\nname = "r{n}"\nperiod = "day"\nslack = ["C0000000002"]\n' for n in range(5)
    )
    (world.folder / "reportbot.toml").write_text(CONFIG + reports, encoding="utf-8")
    result = world.run("run", "--all", "--period", "2024-08-14")
    assert result.returncode == 0, result.stderr
    assert result.stdout.count(": sent") == 7
    assert len(world.slack.posts) == 7
    again = world.run("run", "--all", "--period", "2024-08-14")
    assert again.stdout.count("skipped (already sent)") == 7
    assert len(world.slack.posts) == 7


def test_a_report_of_300_apis_posts_in_several_messages_slack_accepts(world: World) -> None:
    (world.folder / "reportbot.toml").write_text(
        CONFIG.replace("top = 2", "top = 300"), encoding="utf-8"
    )
    rows = [
        {"date": "2024-08-13", "api_id": f"api-{n:03d}", "amount": str(1000 - n)}
        for n in range(300)
    ]
    names = {f"api-{n:03d}": f"<b>API</b> & number {n} " + "x" * 60 for n in range(300)}
    world.api.serve_rows(rows, names)
    result = world.run("run", "weekly-digest", "--period", "2024-W33")
    assert result.returncode == 0, result.stderr
    per_channel = [p for p in world.slack.posts if p.channel == "C0123456789"]
    assert len(per_channel) > 1  # the stub enforces Slack's limits on every one of them
    posted = json.dumps([p.blocks for p in per_channel])
    assert all(f"number {n} " in posted for n in range(300))
    assert "<b>" not in posted


def test_a_busy_usage_api_is_retried_before_the_report_goes_out(world: World) -> None:
    world.api.fail_next(503, headers={"Retry-After": "0"}, times=2)
    result = world.run("run", "weekly-digest", "--period", "2024-W33")
    assert result.returncode == 0, result.stderr
    assert len(world.api.usage_requests) == 3
    assert len(world.slack.posts) == 2


def test_a_forbidden_account_suggests_user_id_me(world: World) -> None:
    world.api.fail_next(403, {"detail": "You do not have permission"})
    result = world.run("run", "weekly-digest", "--period", "2024-W33")
    assert_one_line_error(result, 1)
    assert 'user_id = "me"' in result.stderr
    assert len(world.api.usage_requests) == 1


def test_a_retry_after_a_half_posted_report_posts_only_the_rest(world: World) -> None:
    (world.folder / "reportbot.toml").write_text(
        CONFIG.replace("top = 2", "top = 300").replace(', "C0000000002"', ""), encoding="utf-8"
    )
    rows = [
        {"date": "2024-08-13", "api_id": f"api-{n:03d}", "amount": str(1000 - n)}
        for n in range(300)
    ]
    world.api.serve_rows(rows, {f"api-{n:03d}": f"API number {n} " + "x" * 60 for n in range(300)})
    world.slack.fail_next("chat.postMessage", error="internal_error", after=1)
    failed = world.run("run", "weekly-digest", "--period", "2024-W33")
    assert failed.returncode == 1
    assert "1 of" in failed.stdout  # "(1 of N messages were already posted)"
    assert len(world.slack.posts) == 1
    retried = world.run("run", "weekly-digest", "--period", "2024-W33")
    assert retried.returncode == 0, retried.stderr
    texts = [json.dumps(p.blocks) for p in world.slack.posts]
    assert len(texts) == len(set(texts))  # no message twice
    assert all(any(f"API number {n} " in t for t in texts) for n in range(300))
    history = world.run("history")
    assert "sent" in history.stdout
    with Ledger(f"sqlite:///{world.folder / 'ledger.db'}") as ledger:
        (row,) = ledger.history()
    assert row.receipt == world.slack.posts[0].ts  # the digest's first message


# -- exactly once at the edges (issue: one delivery seam) --


def test_a_lost_ledger_does_not_post_the_digest_again(world: World) -> None:
    assert world.run("run", "weekly-digest", "--period", "2024-W33").returncode == 0
    (world.folder / "ledger.db").unlink()
    again = world.run("run", "weekly-digest", "--period", "2024-W33")
    assert again.returncode == 0, again.stderr
    assert len(world.slack.posts) == 2  # one per channel, found by their keys the second time
    assert "found already delivered" in again.stdout


def test_a_reset_after_slack_took_the_post_posts_it_once(world: World) -> None:
    world.slack.fail_next("chat.postMessage", mode="reset")
    result = world.run("run", "weekly-digest", "--period", "2024-W33")
    assert result.returncode == 0, result.stderr
    assert [p.channel for p in world.slack.posts] == ["C0123456789", "C0000000002"]


@pytest.mark.parametrize("retry_after", ["1.5", "-5", "Wed, 21 Oct 2015 07:28:00 GMT"])
def test_any_form_of_retry_after_from_slack_is_a_short_wait(world: World, retry_after: str) -> None:
    world.slack.fail_next("chat.postMessage", status=429, retry_after=retry_after)
    result = world.run("run", "weekly-digest", "--period", "2024-W33")
    assert result.returncode == 0, result.stderr
    assert "internal error" not in result.stderr + result.stdout
    assert len(world.slack.posts) == 2


def test_an_ok_without_a_ts_is_not_recorded_as_none(world: World) -> None:
    world.slack.fail_next("chat.postMessage", mode="no_ts")
    result = world.run("run", "weekly-digest", "--period", "2024-W33")
    assert result.returncode == 0, result.stderr
    assert "None" not in result.stdout
    assert f"sent ({world.slack.posts[0].ts}" in result.stdout
