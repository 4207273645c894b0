"""Hostile command lines end in one line and exit status 2, never a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import subprocess_env


def reportbot(folder: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "reportbot", *args],
        cwd=folder,
        env=subprocess_env(**env),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(
    "period", ["0001-01-01..9999-12-31", "0001-W01", "0001-01", "9999-W52", "9999-12-31"]
)
def test_an_out_of_range_period_is_bad_usage_on_one_line(tmp_path: Path, period: str) -> None:
    done = reportbot(tmp_path, "demo", "--period", period)

    assert done.returncode == 2
    assert done.stderr.count("\n") == 1
    assert f"bad period {period!r}" in done.stderr
    assert "internal error" not in done.stderr
