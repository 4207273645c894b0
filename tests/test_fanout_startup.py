"""A run's start: what loads before the first fetch, what loads during it, what is frozen."""

from __future__ import annotations

import gc
import subprocess
import sys
import threading
import tomllib
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from reportbot.config import Config, ReportConfig, parse_reports
from reportbot.core.usage import Usage
from reportbot.delivery.runner import Runner
from reportbot.delivery.warmup import Warmup, load_kinds
from reportbot.delivery.wiring import open_runner
from reportbot.ledger.store import Ledger
from reportbot.settings import Settings
from reportbot.sources.demo import DemoSource

NOW = datetime(2024, 8, 20, 8, tzinfo=UTC)
TOML = """
[[reports]]
name = "weekly"
timezone = "Europe/Berlin"
slack = ["#api-usage"]
source = "demo"
"""


def config(folder: Path) -> Config:
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        slack_bot_token="xoxb-startup",
        slack_api_url="http://127.0.0.1:9/api/",  # nothing listens: a send fails, quickly
        REPORTBOT_DATABASE_URL=f"sqlite:///{folder / 'ledger.db'}",
    )
    return Config(settings, parse_reports(tomllib.loads(TOML), "test"), None)


class HeldFetch:
    """A usage source whose fetch waits (a while at most) for something to start loading."""

    def __init__(self, loading: threading.Event) -> None:
        self.loading = loading
        self.loading_while_fetching: bool | None = None

    def fetch(self, start: date, end: date, zone: Any, **filters: Any) -> Usage:
        self.loading_while_fetching = self.loading.wait(timeout=10)
        return DemoSource(NOW.date()).fetch(start, end, zone, **filters)


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Ledger]:
    with Ledger(f"sqlite:///{tmp_path / 'ledger.db'}") as opened:
        yield opened


def runner_with(folder: Path, ledger: Ledger, source: Any) -> tuple[Runner, ReportConfig]:
    conf = config(folder)
    runner = Runner(conf, source_for=lambda _: source, ledger=ledger, now=lambda: NOW)
    return runner, conf.reports["weekly"]


def test_loading_the_runner_imports_neither_jinja_nor_slack_sdk() -> None:
    code = (
        "import sys, reportbot.delivery.wiring\n"
        "print(sorted({'jinja2', 'slack_sdk'} & set(sys.modules)))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.strip() == "[]"


def test_what_a_slack_delivery_needs_loads_while_the_usage_is_fetched(
    tmp_path: Path, ledger: Ledger
) -> None:
    loading, loaded = threading.Event(), []
    source = HeldFetch(loading)
    runner, report = runner_with(tmp_path, ledger, source)
    runner.warmup = Warmup(load=lambda kinds, _templates: (loaded.append(kinds), loading.set()))

    runner.run(report, period="2024-W33")

    assert source.loading_while_fetching is True
    assert loaded == [["slack"]]


def test_a_dry_run_loads_nothing_for_sending(tmp_path: Path, ledger: Ledger) -> None:
    loaded: list[list[str]] = []
    runner, report = runner_with(tmp_path, ledger, DemoSource(NOW.date()))
    runner.warmup = Warmup(load=lambda kinds, _templates: loaded.append(kinds))

    result = runner.run(report, period="2024-W33", dry_run=True)
    runner.close()

    assert [o.status for o in result.outcomes] == ["dry-run"]
    assert loaded == []


def test_each_kind_loads_once_per_run() -> None:
    loaded: list[list[str]] = []
    warmup = Warmup(load=lambda kinds, _templates: loaded.append(kinds))
    warmup.want(["slack:#a", "slack:C0123456789"])
    warmup.start()
    warmup.want(["slack:#b", "email:a@example.com", "sms:+1"])
    warmup.start()
    warmup.start()
    warmup.join()

    assert loaded == [["slack"], ["email"]]


def test_a_template_that_does_not_compile_is_left_to_the_delivery_to_report(
    tmp_path: Path,
) -> None:
    (tmp_path / "slack").mkdir()
    (tmp_path / "slack" / "header.txt.j2").write_text("{% if %}", encoding="utf-8")

    load_kinds(["slack"], tmp_path)  # raises nothing


def test_a_runner_freezes_what_lives_until_its_process_exits(tmp_path: Path) -> None:
    gc.unfreeze()
    try:
        with open_runner(config(tmp_path), with_ledger=True, now=lambda: NOW):
            assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
