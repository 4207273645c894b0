"""`reportbot --help` stays fast: the heavy libraries load only on the paths that use them."""

from __future__ import annotations

import subprocess
import sys

import pytest

HEAVY = ("apscheduler", "sqlalchemy", "slack_sdk", "matplotlib", "httpx", "pydantic", "jinja2")


def imported_by(*args: str) -> set[str]:
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "reportbot", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    lines = [line for line in result.stderr.splitlines() if line.startswith("import time:")]
    return {line.rsplit("|", 1)[1].strip() for line in lines}


@pytest.mark.parametrize("args", [("--help",), ("run", "--help"), ("serve", "--help")])
def test_help_imports_none_of_the_heavy_libraries(args: tuple[str, ...]) -> None:
    loaded = {name.split(".")[0] for name in imported_by(*args)}
    assert not loaded & set(HEAVY), sorted(loaded & set(HEAVY))
