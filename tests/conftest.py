"""Shared fixtures: a clean environment, a working folder, a fixed demo report."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, settings

from reportbot.core.periods import Period, parse_period
from reportbot.core.report import Report, compute_report
from reportbot.sources.demo import DemoSource

SETTINGS_VARS = (
    "ACEDATA_TOKEN",
    "ACEDATA_BASE_URL",
    "SLACK_BOT_TOKEN",
    "SLACK_WEBHOOK_URL",
    "SLACK_API_URL",
    "SMTP_HOST",
    "SMTP_PORT",
    "SMTP_USERNAME",
    "SMTP_PASSWORD",
    "SMTP_FROM",
    "SMTP_SECURITY",
    "REPORTBOT_DATABASE_URL",
    "DATABASE_URL",
    "REPORTBOT_TEMPLATES",
    "REPORTBOT_CONFIG",
    "REPORTBOT_CLAIM_TIMEOUT",
)
DEMO_TODAY = date(2024, 9, 3)
LOCAL_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"

# Property tests: no per-example deadline (a noisy 2-core CI machine is not a bug) and a
# fixed seed, so a run is reproducible; HYPOTHESIS_PROFILE=explore draws fresh examples.
settings.register_profile(
    "ci", deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("explore", deadline=None, max_examples=1000)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

pytest_plugins = ["tests.fakes.databases", "tests.fakes.usage_api"]

# The PostgreSQL variants use the local server unless told otherwise; they are skipped when it
# is unreachable, except where REPORTBOT_REQUIRE_POSTGRES=1 (CI), where a skip is a failure.
os.environ.setdefault("REPORTBOT_TEST_POSTGRES_URL", LOCAL_POSTGRES)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    required = os.environ.get("REPORTBOT_REQUIRE_POSTGRES") == "1"
    if required and report.skipped and item.get_closest_marker("postgres"):
        report.outcome = "failed"
        report.longrepr = f"PostgreSQL is required here but the test was skipped: {report.longrepr}"


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing from the machine's environment leaks into a test."""
    for name in SETTINGS_VARS:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An empty current directory (so no stray .env or reportbot.toml is read)."""
    monkeypatch.chdir(tmp_path)
    yield tmp_path


def demo_report(period: str = "2024-W35", *, top: int = 8, name: str = "weekly-digest") -> Report:
    chosen: Period = parse_period(period, DEMO_TODAY)
    usage = DemoSource(DEMO_TODAY).fetch(chosen.previous().start, chosen.end, ZoneInfo("UTC"))
    return compute_report(
        name,
        chosen,
        usage,
        timezone="Europe/Berlin",
        top=top,
        credit_price=Decimal("0.095215"),
    )


def subprocess_env(**extra: str) -> dict[str, str]:
    """The environment for a reportbot subprocess: the machine's, minus our settings."""
    env = {k: v for k, v in os.environ.items() if k not in SETTINGS_VARS}
    env.update(extra)
    return env
