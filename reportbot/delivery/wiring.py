"""The composition root: builds the runner's collaborators from the configuration."""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from reportbot.config import Config, ReportConfig, Settings, parse_reports
from reportbot.delivery.runner import Runner, UsageSource
from reportbot.sources.demo import DEMO_TOML, DemoSource

if TYPE_CHECKING:
    import httpx


def utc_now() -> datetime:
    return datetime.now(UTC)


def demo_config(settings: Settings | None = None) -> Config:
    reports = parse_reports(tomllib.loads(DEMO_TOML), "built-in demo")
    return Config(settings or Settings(), reports, None)


def source_factory(
    config: Config, stack: ExitStack, now: Callable[[], datetime] = utc_now
) -> Callable[[ReportConfig], UsageSource]:
    """Demo reports read the demo account; the others share one HTTP client, opened lazily."""
    clients: list[httpx.Client] = []

    def source_for(report: ReportConfig) -> UsageSource:
        if report.source == "demo":
            return DemoSource(now().astimezone(report.zone).date())
        from reportbot.sources.acedata import UsageClient, make_http_client

        if not clients:
            clients.append(stack.enter_context(make_http_client()))
        token = config.settings.acedata_token
        assert token is not None  # checked by missing_credentials before any run
        return UsageClient(clients[0], config.settings.acedata_base_url, token.get_secret_value())

    return source_for


@contextmanager
def open_runner(
    config: Config, *, with_ledger: bool, now: Callable[[], datetime] = utc_now
) -> Iterator[Runner]:
    with ExitStack() as stack:
        ledger = None
        if with_ledger:
            from reportbot.ledger.store import Ledger

            stale_after = timedelta(seconds=config.settings.claim_timeout)
            ledger = stack.enter_context(
                Ledger(config.settings.database_url, stale_after=stale_after)
            )
        yield Runner(config, source_for=source_factory(config, stack, now), ledger=ledger, now=now)
