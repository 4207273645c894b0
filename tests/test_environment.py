"""reportbot.environment reads the ledger URL and the reports file as Settings reads them.

``list`` and ``history`` use it instead of Settings (to start without pydantic-settings);
every case here is answered by both readers, and the answers must agree.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from reportbot import environment
from reportbot.settings import Settings

# (the process environment, the .env file or None for none)
CASES = [
    ({}, None),
    ({"REPORTBOT_DATABASE_URL": "sqlite:///env.db"}, None),
    ({"DATABASE_URL": "sqlite:///plain.db"}, None),
    ({"reportbot_database_url": "sqlite:///lower.db", "REPORTBOT_CONFIG": "a.toml"}, None),
    ({"REPORTBOT_DATABASE_URL": "sqlite:///a.db", "DATABASE_URL": "sqlite:///b.db"}, None),
    ({}, "REPORTBOT_DATABASE_URL=sqlite:///dotenv.db\nREPORTBOT_CONFIG=conf/r.toml\n"),
    ({"DATABASE_URL": "sqlite:///env.db"}, "REPORTBOT_DATABASE_URL=sqlite:///dotenv.db\n"),
    ({"REPORTBOT_DATABASE_URL": "sqlite:///env.db"}, "DATABASE_URL=sqlite:///dotenv.db\n"),
    ({}, 'reportbot_database_url="sqlite:///quoted.db" # comment\nREPORTBOT_CONFIG=  \n'),
    ({"HOME": "/home/x"}, "export REPORTBOT_DATABASE_URL=sqlite:///${HOME}/ledger.db\n"),
    ({}, "DATABASE_URL=sqlite:///a.db\nREPORTBOT_DATABASE_URL=\n"),  # blank still wins
    ({}, "REPORTBOT_DATABASE_URL\nDATABASE_URL='postgresql://u:p@h/db'\n"),  # no '=': unset
    ({"REPORTBOT_CONFIG": ""}, "REPORTBOT_CONFIG=from-dotenv.toml\n"),  # blank env: unset
    ({}, "# only a comment\n\n"),
    ({"REPORTBOT_TEMPLATES": "  "}, None),
    ({}, "REPORTBOT_TEMPLATES=.\n"),
]


@pytest.mark.parametrize(("env", "dotenv"), CASES)
def test_the_read_only_commands_read_what_settings_reads(
    env: dict[str, str], dotenv: str | None, workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    if dotenv is not None:
        (workdir / ".env").write_text(dotenv, encoding="utf-8")
    settings = Settings()
    assert environment.database_url() == settings.database_url
    assert environment.config_path() == settings.config
    assert environment.overrides_templates() == (settings.templates is not None)


def test_the_names_are_the_ones_settings_declares() -> None:
    fields = Settings.model_fields
    assert fields["database_url"].validation_alias.choices == list(environment.DATABASE_URL)  # type: ignore[union-attr]
    assert fields["config"].validation_alias.choices == list(environment.CONFIG)  # type: ignore[union-attr]
    assert fields["templates"].validation_alias.choices == list(environment.TEMPLATES)  # type: ignore[union-attr]
    assert fields["database_url"].default == environment.DEFAULT_DATABASE_URL
