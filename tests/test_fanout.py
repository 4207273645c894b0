"""run --all fans out: bounded concurrency, one fetch per distinct query, Slack's pace kept."""

from __future__ import annotations

import os
import pty
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fakes.cli import reportbot_argv, reportbot_env, run_reportbot
from tests.fakes.slack_api import SlackApiStub
from tests.fakes.usage_api import UsageApiServer
from tests.test_cli_run import NAMES, ROWS, SLACK_TOKEN, TOKEN


def config(reports: int, channel: str = "#api-usage", **keys: str) -> str:
    extra = "".join(f"{key} = {value}\n" for key, value in keys.items())
    return "".join(
        f'[[reports]]\nname = "r{n}"\ntimezone = "Europe/Berlin"\nslack = ["{channel}"]\n{extra}\n'
        for n in range(reports)
    )


@pytest.fixture
def services() -> Iterator[tuple[UsageApiServer, SlackApiStub]]:
    with UsageApiServer(token=TOKEN) as api, SlackApiStub(token=SLACK_TOKEN) as slack:
        api.serve_rows(ROWS, NAMES)
        yield api, slack


def env_for(folder: Path, api: UsageApiServer, slack: SlackApiStub, **extra: str) -> dict[str, str]:
    return reportbot_env(
        folder, api=api, api_token=TOKEN, slack=slack, slack_token=SLACK_TOKEN, **extra
    )


def test_identical_usage_queries_are_fetched_once_per_run(
    tmp_path: Path, services: tuple[UsageApiServer, SlackApiStub]
) -> None:
    api, slack = services
    (tmp_path / "reportbot.toml").write_text(
        config(5) + '[[reports]]\nname = "other"\napi_ids = ["mj"]\nslack = ["#api-usage"]\n'
    )
    result = run_reportbot(
        tmp_path, env_for(tmp_path, api, slack), "run", "--all", "--period", "2024-W33"
    )
    assert result.returncode == 0, result.stderr
    assert len(api.usage_requests) == 2  # the five identical reports share one; "other" has its own
    assert len(slack.posts) == 6


def test_posts_to_one_channel_keep_slacks_pace_and_none_fails(
    tmp_path: Path, services: tuple[UsageApiServer, SlackApiStub]
) -> None:
    api, slack = services
    slack.per_channel_rate, slack.burst = 4.0, 3  # a stricter Slack, to keep the test short
    (tmp_path / "reportbot.toml").write_text(config(12))
    result = run_reportbot(
        tmp_path,
        env_for(tmp_path, api, slack, REPORTBOT_CONCURRENCY="8"),
        "run",
        "--all",
        "--period",
        "2024-W33",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert len(slack.posts) == 12
    assert result.stdout.count(": sent (") == 12
    assert slack.rate_limited == 0  # paced before Slack had to say so


def test_a_progress_line_shows_on_a_terminal_and_never_in_a_pipe(
    tmp_path: Path, services: tuple[UsageApiServer, SlackApiStub]
) -> None:
    api, slack = services
    (tmp_path / "reportbot.toml").write_text(config(3))
    env = env_for(tmp_path, api, slack)
    args = ("run", "--all", "--period", "2024-W33", "--dry-run", "--concurrency", "1")
    piped = run_reportbot(tmp_path, env, *args)
    assert piped.returncode == 0, piped.stderr
    assert "reports done" not in piped.stderr
    leader, follower = pty.openpty()
    try:
        subprocess.run(
            reportbot_argv(*args),
            cwd=tmp_path,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=follower,
            timeout=120,
            check=True,
        )
        os.close(follower)
        follower = -1
        seen = b""
        while chunk := _read(leader):
            seen += chunk
    finally:
        os.close(leader)
        if follower >= 0:
            os.close(follower)
    assert b"1/3 reports done" in seen
    assert b"2/3 reports done" in seen


def _read(fd: int) -> bytes:
    try:
        return os.read(fd, 65536)
    except OSError:  # EIO once the other side is closed
        return b""


def test_with_json_logs_each_delivery_outcome_is_one_object(
    tmp_path: Path, services: tuple[UsageApiServer, SlackApiStub]
) -> None:
    import json

    api, slack = services
    toml = config(1) + '[[reports]]\nname = "lost"\nslack = ["#nowhere"]\n'
    (tmp_path / "reportbot.toml").write_text(toml)
    env = env_for(tmp_path, api, slack, REPORTBOT_LOG_FORMAT="json")
    result = run_reportbot(tmp_path, env, "run", "--all", "--period", "2024-W33")
    assert result.returncode == 1
    records = [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]
    outcomes = [r for r in records if r["logger"] == "reportbot.outcomes"]
    by_report = {o["report"]: o for o in outcomes}
    assert by_report["r0"] | {"time": None} == by_report["r0"] | {
        "time": None,
        "level": "info",
        "report": "r0",
        "period": "2024-W33",
        "destination": "slack:#api-usage",
        "status": "sent",
        "attempt": 1,
        "error": None,
    }
    assert by_report["lost"]["status"] == "failed"
    assert "#nowhere not found" in by_report["lost"]["error"]
