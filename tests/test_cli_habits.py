"""What people expect of a command line: global options anywhere, a bare ``run`` that helps,
colour only on a terminal (never with NO_COLOR), shell completion of report names."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from reportbot.cli.commands import cli
from reportbot.cli.group import hoist_global_options
from reportbot.cli.words import plural
from tests.conftest import subprocess_env

CONFIG = """
[[reports]]
name = "weekly-digest"
timezone = "Europe/Berlin"
slack = ["#api-usage"]

[[reports]]
name = "monthly-costs"
period = "month"
email = ["finance@example.com"]
"""
ANSI = "\x1b["


@pytest.fixture
def config(workdir: Path) -> Path:
    path = workdir / "reports.toml"
    path.write_text(CONFIG, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("given", "parsed"),
    [
        (["run", "a", "-v"], ["-v", "run", "a"]),
        (["run", "a", "--verbose"], ["--verbose", "run", "a"]),
        (["-v", "run", "a"], ["-v", "run", "a"]),
        (["run", "a", "--config", "x.toml"], ["--config", "x.toml", "run", "a"]),
        (["run", "--config=x.toml", "a"], ["--config=x.toml", "run", "a"]),
        (["list", "--log-format", "json", "-v"], ["--log-format", "json", "-v", "list"]),
        (["run", "a", "--period", "week"], ["run", "a", "--period", "week"]),
        (["run", "--", "-v"], ["run", "--", "-v"]),  # after "--" it is an argument
        (["run", "a", "--config"], ["--config", "run", "a"]),  # click says what is missing
        ([], []),
    ],
)
def test_global_options_after_the_command_move_in_front_of_it(
    given: list[str], parsed: list[str]
) -> None:
    assert hoist_global_options(given) == parsed


def test_config_after_the_command_is_the_config_used(config: Path) -> None:
    result = CliRunner().invoke(cli, ["list", "-v", "--config", str(config)])

    assert result.exit_code == 0, result.output
    assert "weekly-digest  (week)" in result.output


def test_run_name_dash_v_is_accepted_as_the_hint_says(config: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "reportbot", "run", "nope", "-v", "--config", str(config)],
        env=subprocess_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 2
    assert "No such option" not in result.stderr
    assert "unknown report nope" in result.stderr


def test_a_bare_run_lists_the_configured_reports_and_exits_2(config: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "reportbot", "--config", str(config), "run"],
        env=subprocess_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 2
    assert result.stdout.splitlines() == [
        "2 reports configured:",
        "  weekly-digest  week   slack:#api-usage",
        "  monthly-costs  month  email:finance@example.com",
        "Run one with: reportbot run NAME [--dry-run], or all with --all",
    ]
    assert result.stderr == "reportbot: error: name one or more reports, or pass --all\n"


@pytest.mark.parametrize(
    ("count", "noun", "words"),
    [
        (0, "report", "0 reports"),
        (1, "report", "1 report"),
        (2, "check", "2 checks"),
        (1, "attempt", "1 attempt"),
        (3, "attempt", "3 attempts"),
        (2, "is", "2 are"),
    ],
)
def test_plurals_agree_with_their_number(count: int, noun: str, words: str) -> None:
    assert plural(count, noun) == words


def test_one_report_is_one_report_in_a_bare_run(workdir: Path) -> None:
    path = workdir / "one.toml"
    path.write_text('[[reports]]\nname = "solo"\nslack = ["#a"]\n', encoding="utf-8")

    result = CliRunner().invoke(cli, ["--config", str(path), "run"])

    assert result.output.startswith("1 report configured:\n")


def test_list_is_coloured_on_a_terminal(config: Path) -> None:
    result = CliRunner().invoke(cli, ["--config", str(config), "list"], color=True)

    assert result.exit_code == 0, result.output
    assert f"{ANSI}1mweekly-digest{ANSI}0m" in result.output


def test_no_color_turns_colour_off_even_on_a_terminal(config: Path) -> None:
    result = CliRunner().invoke(
        cli, ["--config", str(config), "list"], color=True, env={"NO_COLOR": "1"}
    )

    assert result.exit_code == 0, result.output
    assert ANSI not in result.output


def test_output_into_a_pipe_has_no_colour(config: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "reportbot", "--config", str(config), "list"],
        env=subprocess_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    assert "weekly-digest" in result.stdout and ANSI not in result.stdout


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        ("reportbot run w", ["weekly-digest"]),
        ("reportbot run ", ["weekly-digest", "monthly-costs"]),
        ("reportbot history m", ["monthly-costs"]),
        ("reportbot run x", []),
    ],
)
def test_the_shell_completes_report_names_from_the_config(
    config: Path, words: str, expected: list[str]
) -> None:
    env = {
        "_REPORTBOT_COMPLETE": "bash_complete",
        "COMP_WORDS": words,
        "COMP_CWORD": str(len(words.split(" ")) - 1),
        "REPORTBOT_CONFIG": str(config),
    }
    result = CliRunner().invoke(cli, [], prog_name="reportbot", env=env)

    assert result.exit_code == 0, result.output
    lines = [line for line in result.output.splitlines() if line]
    assert [line.split(",", 1)[1] for line in lines] == expected


def test_completion_with_a_broken_config_completes_nothing(workdir: Path) -> None:
    env = {
        "_REPORTBOT_COMPLETE": "bash_complete",
        "COMP_WORDS": "reportbot run ",
        "COMP_CWORD": "2",
    }
    result = CliRunner().invoke(cli, [], prog_name="reportbot", env=env)

    assert result.exit_code == 0 and result.output.strip() == ""


@pytest.mark.parametrize("command", ["run", "list", "check", "history", "slack-manifest", "demo"])
def test_every_command_has_help_with_an_example(command: str) -> None:
    result = CliRunner().invoke(cli, [command, "--help"])

    assert result.exit_code == 0
    assert "Example: reportbot " in result.output


def test_the_monthly_demo_with_slack_shows_the_slack_messages_as_the_readme_says(
    workdir: Path,
) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "reportbot", "demo", "--period", "2024-08", "--slack"],
        env=subprocess_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    _, payloads = result.stdout.split("Slack messages monthly-costs would post to a channel:\n")
    assert json.loads(payloads)[0]["text"].startswith("API usage August 2024: ")
