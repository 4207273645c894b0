"""The composition root: builds the runner's collaborators from the configuration."""

from __future__ import annotations

import gc
import threading
import tomllib
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from reportbot.config import (
    Config,
    ReportConfig,
    check_overrides,
    load_settings,
    parse_reports,
)
from reportbot.delivery.runner import Runner
from reportbot.delivery.usage import UsageSource, paused_gc
from reportbot.settings import Settings
from reportbot.sources.demo import DEMO_TOML, DemoSource

if TYPE_CHECKING:
    import httpx

    from reportbot.sources.balance import BalanceSource, SharedBalance


def utc_now() -> datetime:
    return datetime.now(UTC)


def demo_config(settings: Settings | None = None) -> Config:
    """The built-in demo account's reports, with the settings checked as for any command."""
    settings = settings or load_settings()
    check_overrides(settings)
    reports = parse_reports(tomllib.loads(DEMO_TOML), "built-in demo")
    return Config(settings, reports, None)


class _Http:
    """One HTTP client for every call to the platform in a run, opened on first use."""

    def __init__(self, stack: ExitStack) -> None:
        self._stack = stack
        self._client: httpx.Client | None = None

    def client(self) -> httpx.Client:
        if self._client is None:
            from reportbot.sources.acedata import make_http_client

            self._client = self._stack.enter_context(make_http_client())
        return self._client


def _token(config: Config) -> str:
    token = config.settings.acedata_token
    assert token is not None  # checked by missing_credentials before any run
    return token.get_secret_value()


def source_factory(
    config: Config,
    stack: ExitStack,
    now: Callable[[], datetime] = utc_now,
    http: _Http | None = None,
) -> Callable[[ReportConfig], UsageSource]:
    """Demo reports read the demo account; the others share one HTTP client, opened lazily."""
    shared = http or _Http(stack)

    def source_for(report: ReportConfig) -> UsageSource:
        if report.source == "demo":
            return DemoSource(now().astimezone(report.zone).date())
        from reportbot.sources.acedata import UsageClient

        return UsageClient(shared.client(), config.settings.acedata_base_url, _token(config))

    return source_for


def balance_factory(
    config: Config, http: _Http, now: Callable[[], datetime] = utc_now
) -> Callable[[ReportConfig], SharedBalance]:
    """The account balance, read at most once per run for each (source, user_id)."""
    from reportbot.sources.balance import BalanceClient, SharedBalance

    balances: dict[tuple[str, str | None], SharedBalance] = {}
    lock = threading.Lock()

    def balance_for(report: ReportConfig) -> SharedBalance:
        key = (report.source, report.user_id)
        with lock:
            if key not in balances:
                if report.source == "demo":
                    source: BalanceSource = DemoSource(now().astimezone(report.zone).date())
                else:
                    base, token = config.settings.acedata_base_url, _token(config)
                    source = BalanceClient(http.client(), base, token, user_id=report.user_id)
                balances[key] = SharedBalance(source)
            return balances[key]

    return balance_for


@contextmanager
def open_runner(
    config: Config, *, with_ledger: bool, now: Callable[[], datetime] = utc_now
) -> Iterator[Runner]:
    """A runner and what it uses, for a process that does one run (a command, a child).

    Everything built here (imported modules, settings, the ledger's engine) lives until the
    process exits, so it is frozen out of the garbage collector: no full collection walks
    it again during the run, nor the collections of the interpreter's exit (about a tenth
    of a second with SQLAlchemy and slack-sdk loaded).
    """
    with ExitStack() as stack:
        with paused_gc():  # importing SQLAlchemy allocates only what lives on
            ledger = None
            if with_ledger:
                from reportbot.ledger.store import Ledger

                stale_after = timedelta(seconds=config.settings.claim_timeout)
                ledger = stack.enter_context(
                    Ledger(config.settings.database_url, stale_after=stale_after)
                )
            http = _Http(stack)
            runner = Runner(
                config,
                source_for=source_factory(config, stack, now, http),
                balance_for=balance_factory(config, http, now),
                ledger=ledger,
                now=now,
            )
        gc.freeze()
        stack.callback(runner.close)
        yield runner
