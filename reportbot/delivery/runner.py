"""The one orchestrating module: fetch, compute, render, claim, deliver, record.

Each (report, period, destination) is claimed in the ledger before it is sent and marked
sent or failed after; one destination failing never stops the others.
"""

from __future__ import annotations

import gc
import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Protocol

from reportbot.config import Config, ReportConfig
from reportbot.core.periods import Period, parse_period
from reportbot.core.report import Report, compute_report
from reportbot.core.usage import Usage
from reportbot.delivery.loop import DeliveryLoop, Outcome
from reportbot.destinations.factory import Destinations
from reportbot.destinations.pacing import ChannelPacer
from reportbot.errors import ReportbotError
from reportbot.render.rendered import RenderedReport

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

    from reportbot.ledger.store import Ledger

log = logging.getLogger(__name__)

class UsageSource(Protocol):
    def fetch(
        self,
        start: date,
        end: date,
        zone: ZoneInfo,
        *,
        application_id: str | None = None,
        api_ids: Sequence[str] = (),
        user_id: str | None = None,
    ) -> Usage: ...


@dataclass
class RunResult:
    report: str
    period: Period | None = None
    outcomes: list[Outcome] = field(default_factory=list)
    error: ReportbotError | None = None
    rendered: RenderedReport | None = None

    @property
    def built(self) -> Report | None:
        return self.rendered.report if self.rendered else None

    @property
    def exit_status(self) -> int:
        if self.error is not None:
            return self.error.exit_status
        return 1 if any(o.failed for o in self.outcomes) else 0


def fetch_usage(source: UsageSource, report: ReportConfig, start: date, end: date) -> Usage:
    """The report's usage of local days ``start..end``, with its filters."""
    return source.fetch(
        start,
        end,
        report.zone,
        application_id=report.application_id,
        api_ids=report.api_ids,
        user_id=report.user_id,
    )


@contextmanager
def paused_gc() -> Iterator[None]:
    """No cyclic garbage collection while a period's rows are parsed and summed.

    That step allocates 100,000s of small acyclic objects, which only make the collector
    run again and again (a fifth of the time of a large period); it runs once afterwards.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def resolve_period(report: ReportConfig, spec: str | None, now: datetime) -> Period:
    """The period to report on: ``spec`` if given, else the latest complete one."""
    today = now.astimezone(report.zone).date()
    return parse_period(spec or report.period, today)


class Runner:
    """Runs reports; every collaborator is injected so tests hand in real local servers."""

    def __init__(
        self,
        config: Config,
        *,
        source_for: Callable[[ReportConfig], UsageSource],
        ledger: Ledger | None,
        now: Callable[[], datetime],
    ) -> None:
        self.config = config
        self.source_for = source_for
        self.ledger = ledger
        self.now = now
        self.pacer = ChannelPacer()  # one per run, shared by all its threads
        self._fetches: dict[tuple[object, ...], Future[Usage]] = {}
        self._fetch_lock = threading.Lock()

    def run_many(
        self,
        reports: Sequence[ReportConfig],
        *,
        period: str | None = None,
        dry_run: bool = False,
        force: bool = False,
        concurrency: int | None = None,
        on_result: Callable[[RunResult], None] | None = None,
    ) -> list[RunResult]:
        """Several reports at once, at most ``concurrency`` (REPORTBOT_CONCURRENCY) at a time.

        ``on_result`` sees each result as it completes; the list returned is in the given
        order. Identical usage queries are fetched once and shared.
        """
        workers = max(1, min(concurrency or self.config.settings.concurrency, len(reports)))
        done: dict[int, RunResult] = {}
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="report") as pool:
            futures = {
                pool.submit(self.run, r, period=period, dry_run=dry_run, force=force): n
                for n, r in enumerate(reports)
            }
            for future in as_completed(futures):
                done[futures[future]] = result = future.result()
                if on_result is not None:
                    on_result(result)
        return [done[n] for n in range(len(reports))]

    def run(
        self,
        report: ReportConfig,
        *,
        period: str | None = None,
        dry_run: bool = False,
        force: bool = False,
    ) -> RunResult:
        result = RunResult(report.name)
        try:
            result.period = resolve_period(report, period, self.now())
            if not dry_run and not force and self._all_sent(report, result.period):
                result.outcomes = [
                    Outcome(d, "skipped", "already sent") for d in report.destinations
                ]
                return result
            built = self.build(report, result.period)
            templates = self.config.settings.templates
            result.rendered = RenderedReport(built, templates, attach=report.attach)
            if dry_run:
                result.outcomes = [Outcome(d, "dry-run") for d in report.destinations]
            else:
                result.outcomes = self._deliver_all(report, result.rendered, force=force)
        except ReportbotError as exc:
            result.error = exc
        return result

    def build(self, report: ReportConfig, period: Period) -> Report:
        with paused_gc():
            return self._build(report, period)

    def _build(self, report: ReportConfig, period: Period) -> Report:
        usage = self._usage(report, period.previous().start, period.end)
        return compute_report(
            report.name,
            period,
            usage,
            timezone=report.timezone,
            top=report.top,
            credit_price=report.credit_price,
            currency=report.currency,
        )

    def _usage(self, report: ReportConfig, start: date, end: date) -> Usage:
        """The usage of one query, fetched once per run however many reports ask for it."""
        filters = (report.application_id, report.api_ids, report.user_id)
        key: tuple[object, ...] = (report.source, report.timezone, start, end, *filters)
        with self._fetch_lock:
            future = self._fetches.get(key)
            mine = future is None
            if future is None:
                future = self._fetches[key] = Future()
        if mine:
            try:
                future.set_result(fetch_usage(self.source_for(report), report, start, end))
            except BaseException as exc:  # every report waiting for it gets the same error
                future.set_exception(exc)
        return future.result()

    def _all_sent(self, report: ReportConfig, period: Period) -> bool:
        assert self.ledger is not None
        status = self.ledger.status(report.name, period.key)
        return all(status.get(d) == "sent" for d in report.destinations)

    def _deliver_all(
        self, report: ReportConfig, rendered: RenderedReport, *, force: bool
    ) -> list[Outcome]:
        assert self.ledger is not None
        destinations = Destinations.from_settings(self.config.settings, self.pacer)
        try:
            loop = DeliveryLoop(self.ledger, destinations)
            return [loop.deliver(report, rendered, d, force=force) for d in report.destinations]
        finally:
            destinations.close()
