"""The documentation keeps up with the code."""

from __future__ import annotations

import re
from pathlib import Path

import click
import pytest

from reportbot.cli.commands import cli
from reportbot.settings import Settings

ROOT = Path(__file__).parent.parent
COMMANDS = sorted(cli.commands)


@pytest.mark.parametrize("name", COMMANDS)
def test_every_command_has_help_with_an_example(name: str) -> None:
    command = cli.commands[name]
    assert command.help
    assert "Example: reportbot" in command.help


@pytest.mark.parametrize("name", COMMANDS)
def test_every_command_is_in_the_readme(name: str) -> None:
    assert f"`reportbot {name}" in (ROOT / "README.md").read_text(encoding="utf-8")


def environment_names() -> list[str]:
    names = []
    for field_name, field in Settings.model_fields.items():
        alias = field.validation_alias
        choices = getattr(alias, "choices", None)
        names.extend(str(c) for c in choices) if choices else names.append(field_name.upper())
    return names


@pytest.mark.parametrize("variable", environment_names())
def test_every_setting_is_documented_in_env_example(variable: str) -> None:
    example = (ROOT / ".env.example").read_text(encoding="utf-8")
    assert re.search(rf"^(# )?{variable}=|\b{variable}\b", example, re.MULTILINE)


def test_the_readme_starts_with_the_install_and_test_commands() -> None:
    blocks = re.findall(
        r"```sh\n(.*?)\n```", (ROOT / "README.md").read_text(encoding="utf-8"), re.S
    )
    assert blocks[0].endswith("reportbot demo")
    assert blocks[1] == ".venv/bin/python -m pytest"
    assert ".venv/bin/python -m pytest" in (ROOT / ".ci" / "run").read_text(encoding="utf-8")


def test_the_example_config_is_valid(tmp_path: Path) -> None:
    from reportbot.config import load_config

    config = load_config(ROOT / "reportbot.example.toml", Settings(_env_file=None))  # type: ignore[call-arg]
    assert set(config.reports) == {"weekly-digest", "monthly-costs"}


def test_help_lists_every_command() -> None:
    help_text = cli.get_help(click.Context(cli))
    for name in COMMANDS:
        assert name in help_text
