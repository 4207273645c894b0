"""The few settings the read-only commands need, read the way reportbot.settings reads them.

``list`` and ``history`` only need where the reports file and the ledger are. Building the
whole :class:`~reportbot.settings.Settings` would import pydantic-settings (about a third of
their start-up) and refuse to run over a setting they never use. This reads those names as
pydantic-settings does for ``Settings``: the process environment first (names in any case),
then ``.env`` in the working directory (python-dotenv, so quoting, ``export`` and ``${VAR}``
mean the same); within one place the first of a setting's names that is present wins, even
when it is blank. tests/test_environment.py holds the two readers to the same answers.
"""

from __future__ import annotations

import os
from pathlib import Path

ENV_FILE = ".env"
DATABASE_URL = ("REPORTBOT_DATABASE_URL", "DATABASE_URL")
DEFAULT_DATABASE_URL = "sqlite:///reportbot.db"
CONFIG = ("REPORTBOT_CONFIG",)
TEMPLATES = ("REPORTBOT_TEMPLATES",)


def setting(names: tuple[str, ...]) -> str | None:
    """The value of the first of ``names`` set in the environment, else in ``.env``."""
    for place in (os.environ, _env_file()):
        values = {key.lower(): value for key, value in place.items()}
        for name in names:
            if name.lower() in values:
                return values[name.lower()]
    return None


def database_url() -> str:
    found = setting(DATABASE_URL)
    return DEFAULT_DATABASE_URL if found is None else found


def config_path() -> Path | None:
    """REPORTBOT_CONFIG as a path; blank is unset, as in Settings."""
    found = setting(CONFIG)
    return Path(found) if found and found.strip() else None


def overrides_templates() -> bool:
    """Whether REPORTBOT_TEMPLATES is set (blank is unset, as in Settings)."""
    found = setting(TEMPLATES)
    return bool(found and found.strip())


def _env_file() -> dict[str, str]:
    if not Path(ENV_FILE).is_file():
        return {}
    from dotenv import dotenv_values

    return {k: v for k, v in dotenv_values(ENV_FILE, encoding="utf8").items() if v is not None}
