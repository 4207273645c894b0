"""The one orchestrating module: fetch, compute, render, claim, deliver, record.

Each (report, period, destination) is claimed in the ledger before it is sent and marked
sent or failed after; one destination failing never stops the others.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from datetime import date, datetime
from typing import TYPE_CHECKING

from reportbot.config import Config, ReportConfig
from reportbot.core.alerts import fired_rules
from reportbot.core.corrections import said_of
from reportbot.core.insights import history_range, with_insights
from reportbot.core.periods import Period, resolve_period
from reportbot.core.report import Report, compute_report
from reportbot.core.usage import Usage
from reportbot.delivery.followups import in_correction_window, send_alerts, send_corrections
from reportbot.delivery.loop import DeliveryLoop, Outcome, classify
from reportbot.delivery.usage import RunResult, UsageSource, fetch_usage, paused_gc
from reportbot.delivery.warmup import Warmup
from reportbot.destinations.base import Attempt, Key
from reportbot.destinations.factory import Destinations
from reportbot.destinations.pacing import ChannelPacer
from reportbot.errors import ReportbotError
from reportbot.ledger import SKIPPED
from reportbot.render.rendered import RenderedReport

if TYPE_CHECKING:
    from reportbot.ledger.store import Ledger
    from reportbot.sources.balance import SharedBalance

log = logging.getLogger(__name__)


class Runner:
    """Runs reports; every collaborator is injected so tests hand in real local servers."""

    def __init__(
        self,
        config: Config,
        *,
        source_for: Callable[[ReportConfig], UsageSource],
        ledger: Ledger | None,
        now: Callable[[], datetime],
        balance_for: Callable[[ReportConfig], SharedBalance] | None = None,
    ) -> None:
        self.config = config
        self.source_for = source_for
        self.balance_for = balance_for
        self.ledger = ledger
        self.now = now
        self.pacer = ChannelPacer()  # one per run, shared by all its threads
        self.warmup = Warmup(config.settings.templates)  # loaded during the first fetch
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
        self.warmup.join()
        return [done[n] for n in range(len(reports))]

    def close(self) -> None:
        """Wait for what is still loading in the background (a run never leaves it behind)."""
        self.warmup.join()

    def run(
        self,
        report: ReportConfig,
        *,
        period: str | None = None,
        dry_run: bool = False,
        force: bool = False,
        corrections: bool = True,
    ) -> RunResult:
        """Build and deliver one report (``corrections``: re-check a period already sent)."""
        result = RunResult(report.name)
        try:
            result.period = resolve_period(report, period, self.now())
            result.outcomes = self._run(
                report, result, dry_run=dry_run, force=force, corrections=corrections
            )
        except ReportbotError as exc:
            result.error = exc
        return result

    def _run(
        self,
        report: ReportConfig,
        result: RunResult,
        *,
        dry_run: bool,
        force: bool,
        corrections: bool,
    ) -> list[Outcome]:
        period = result.period
        assert period is not None
        today = self.now().astimezone(report.zone).date()
        sent = not dry_run and not force and report.kind == "report"
        sent = sent and self._all_sent(report, period)
        if sent and not (corrections and in_correction_window(period.end, today)):
            return [Outcome(d, "skipped", "already sent") for d in report.destinations]
        if not dry_run:
            self.warmup.want(report.destinations)
        result.rendered = self._render(report, period)
        built = result.rendered.report
        if report.kind == "alert":
            return self._alerts(report, built, dry_run=dry_run, result=result)
        if sent:
            return self._with_loop(lambda loop: send_corrections(loop, report, built))
        if report.skip_empty and built.total == 0 and built.previous_total == 0:
            return self._skip_empty(report, result.rendered, dry_run=dry_run)
        if dry_run:
            return [Outcome(d, "dry-run") for d in report.destinations]
        return self._deliver_all(report, result.rendered, force=force)

    def test_send(self, report: ReportConfig, *, period: str | None = None) -> RunResult:
        """Send ``report`` to its destinations (``--to``: one) labelled a test; no ledger."""
        result = RunResult(report.name)
        try:
            result.period = resolve_period(report, period, self.now())
            result.rendered = self._render(report, result.period, test=True)
            result.outcomes = [
                self._send_test(report, result.rendered, d) for d in report.destinations
            ]
        except ReportbotError as exc:
            result.error = exc
        return result

    def _render(
        self, report: ReportConfig, period: Period, *, test: bool = False
    ) -> RenderedReport:
        built = self.build(report, period)
        templates = self.config.settings.templates
        return RenderedReport(built, templates, attach=report.attach, test=test)

    def _send_test(
        self, report: ReportConfig, rendered: RenderedReport, destination: str
    ) -> Outcome:
        destinations = Destinations.from_settings(self.config.settings, self.pacer)
        key = Key(report.name, rendered.report.period.key, destination, f"test-{uuid.uuid4().hex}")
        attempt = Attempt(key, chart=report.chart, thread=report.thread)
        try:
            target, address = destinations.route(destination)
            receipt = target.send(rendered, address, attempt)
        except Exception as exc:  # classified like any delivery; nothing recorded
            failure = classify(exc)
            return Outcome(destination, "failed", f"test send: {failure}", failure.permanent)
        finally:
            destinations.close()
        return Outcome(destination, "sent", f"test send, not recorded: {receipt}")

    def _alerts(
        self, report: ReportConfig, built: Report, *, dry_run: bool, result: RunResult
    ) -> list[Outcome]:
        if dry_run:
            assert built.insights is not None
            fired = fired_rules(built.insights, report.spike_factor)
            result.note = "rules firing: " + (", ".join(f.key for f in fired) or "none")
            return [Outcome(d, "dry-run") for d in report.destinations] if fired else []
        outcomes = self._with_loop(lambda loop: send_alerts(loop, report, built))
        if not outcomes:
            result.note = "quiet: no rule fired"
        return outcomes

    def _skip_empty(
        self, report: ReportConfig, rendered: RenderedReport, *, dry_run: bool
    ) -> list[Outcome]:
        """``skip_empty``: nothing to send; the ledger records why (not on a dry run)."""
        why = "no usage in either period (skip_empty)"
        if dry_run or self.ledger is None:
            return [Outcome(d, "skipped", why) for d in report.destinations]
        period = rendered.report.period
        outcomes = []
        for destination in report.destinations:
            claim = self.ledger.claim(
                report.name, period.key, period.start, period.end, destination
            )
            if claim is not None:
                self.ledger.mark_sent(claim, f"{SKIPPED} {why}")
            outcomes.append(Outcome(destination, "skipped", why))
        return outcomes

    def _with_loop(self, work: Callable[[DeliveryLoop], list[Outcome]]) -> list[Outcome]:
        assert self.ledger is not None
        destinations = Destinations.from_settings(self.config.settings, self.pacer)
        try:
            return work(DeliveryLoop(self.ledger, destinations))
        finally:
            destinations.close()

    def build(self, report: ReportConfig, period: Period) -> Report:
        with paused_gc():
            return self._build(report, period)

    def _build(self, report: ReportConfig, period: Period) -> Report:
        """The period's numbers, and the insights that need the trailing weeks too.

        One request covers the history, the previous period and the period; the report's
        own figures only ever see previous.start..period.end (compute_report keeps those).
        """
        usage = self._usage(report, history_range(period), period.end)
        built = compute_report(
            report.name,
            period,
            usage,
            timezone=report.timezone,
            top=report.top,
            credit_price=report.credit_price,
            currency=report.currency,
        )
        balance = self.balance_for(report).read() if self.balance_for else None
        return with_insights(
            built,
            usage,
            self.now().astimezone(report.zone).date(),
            budget=report.monthly_budget,
            balance=balance,
            runway_days=report.runway_days,
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
                source = self.source_for(report)
                self.warmup.start()  # what delivering needs loads while this fetch waits
                future.set_result(fetch_usage(source, report, start, end))
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
        said = said_of(rendered.report).to_json()
        return self._with_loop(
            lambda loop: [
                loop.deliver(report, rendered, d, force=force, summary=said)
                for d in report.destinations
            ]
        )
