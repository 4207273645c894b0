"""Hostile command lines end in one line and exit status 2, never a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import subprocess_env
from tests.fakes.usage_api import UsageApiServer


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


def test_a_broken_override_template_stops_every_command_at_start_naming_file_and_line(
    tmp_path: Path,
) -> None:
    (tmp_path / "reportbot.toml").write_text(
        '[[reports]]\nname = "r"\nslack = ["#x"]\n', encoding="utf-8"
    )
    (tmp_path / "mine" / "slack").mkdir(parents=True)
    (tmp_path / "mine" / "slack" / "line.md.j2").write_text("ok\n{{ r.name }", encoding="utf-8")
    env = {"REPORTBOT_TEMPLATES": str(tmp_path / "mine"), "ACEDATA_TOKEN": "platform-v1-x"}
    env["ACEDATA_BASE_URL"] = "http://127.0.0.1:9"  # never called: the error comes first
    for command in (["run", "r", "--dry-run"], ["list"], ["check"], ["demo"]):
        done = reportbot(tmp_path, *command, **env)
        assert done.returncode == 2, done.stderr
        assert done.stderr.startswith("reportbot: error: template slack/line.md.j2 line 2: ")
        assert done.stderr.count("\n") == 1


@pytest.mark.parametrize("command", [["demo"], ["run", "r", "--dry-run"]])
def test_a_bad_setting_is_exit_2_on_one_line_for_the_demo_too(
    tmp_path: Path, command: list[str]
) -> None:
    (tmp_path / "reportbot.toml").write_text(
        '[[reports]]\nname = "r"\nslack = ["#x"]\n', encoding="utf-8"
    )
    done = reportbot(tmp_path, *command, SMTP_PORT="abc")
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("reportbot: error: environment: smtp_port: "), done.stderr
    assert done.stderr.count("\n") == 1


def test_a_missing_override_folder_is_exit_2(tmp_path: Path) -> None:
    (tmp_path / "reportbot.toml").write_text(
        '[[reports]]\nname = "r"\nslack = ["#x"]\n', encoding="utf-8"
    )
    done = reportbot(tmp_path, "list", REPORTBOT_TEMPLATES=str(tmp_path / "nope"))
    assert done.returncode == 2
    assert "REPORTBOT_TEMPLATES" in done.stderr and "is not a folder" in done.stderr


HOSTILE_BODIES: dict[str, tuple[bytes | dict[str, object], int, str]] = {
    "both-shapes": (
        {"items": [], "results": [{"date": "2024-08-12", "api_id": "a", "amount": 5}]},
        1,
        "it has both 'items' and 'results' and they disagree",
    ),
    "detail-on-200": ({"detail": "quota \x1b[31mexceeded\x1b[0m"}, 1, "quota exceeded"),
    "nan": (b'{"items": [{"date": "2024-08-12", "api_id": "a", "amount": NaN}]}', 1, "NaN"),
    "html": (b"<html><title>Bad gateway</title></html>", 1, "an HTML page: Bad gateway"),
    "huge": (b'{"items": [{"date": "2024-08-12", "api_id": "a", "amount": 1e15}]}', 1, "1E+15"),
    "tiny": (
        b'{"items": [{"date": "2024-08-12", "api_id": "a", "amount": 1e-999999999},'
        b' {"date": "2024-08-12", "api_id": "b", "amount": 2.5}]}',
        0,
        "",
    ),
}


@pytest.mark.parametrize(("body", "status", "says"), HOSTILE_BODIES.values(), ids=HOSTILE_BODIES)
def test_a_hostile_usage_body_is_one_error_or_a_small_report(
    tmp_path: Path,
    usage_api: UsageApiServer,
    body: bytes | dict[str, object],
    status: int,
    says: str,
) -> None:
    (tmp_path / "reportbot.toml").write_text(
        '[[reports]]\nname = "r"\nslack = ["#x"]\n', encoding="utf-8"
    )
    usage_api.respond_next(200, body, headers={"Content-Type": "application/json"})
    done = reportbot(
        tmp_path,
        "run",
        "r",
        "--period",
        "2024-W33",
        "--dry-run",
        "--out",
        "out",
        ACEDATA_TOKEN="platform-v1-x",
        ACEDATA_BASE_URL=usage_api.url,
    )
    assert done.returncode == status, done.stderr
    assert "Traceback" not in done.stderr and "\x1b" not in done.stdout + done.stderr
    if status:
        assert says in done.stdout + done.stderr
        return
    written = sum(path.stat().st_size for path in (tmp_path / "out").iterdir())
    assert written < 200_000  # the 1e-999999999 row is 0, not a million digits
