"""What a scheduled job does: deliver a report's latest due period, or retry one.

The Worker decides with its injected clock and the ledger, and runs each delivery in a
process of its own (reportbot.service.child); no APScheduler in sight, so it is tested
with a fake clock.
"""

from __future__ import annotations

import logging
import multiprocessing
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from reportbot.config import Config, ReportConfig
from reportbot.core.periods import Period, resolve_period
from reportbot.delivery.followups import in_correction_window
from reportbot.delivery.runner import Runner
from reportbot.delivery.wiring import source_factory, utc_now
from reportbot.errors import ReportbotError
from reportbot.ledger.store import Ledger
from reportbot.service.child import BUSY_ELSEWHERE, SPAWN, LogSetup, log_error, run_in_child
from reportbot.service.triggers import Clock, is_due, local_time, retry_delay

log = logging.getLogger(__name__)
RunHook = Callable[[ReportConfig, Period, datetime, float], None]


@dataclass(frozen=True)
class Retry:
    """Run ``report`` for ``period`` again at ``at``."""

    report: str
    period: str
    at: datetime


class Worker:
    """What the jobs do, with the clock and the ledger injected and no APScheduler in sight."""

    def __init__(
        self,
        config: Config,
        ledger: Ledger,
        *,
        clock: Clock = utc_now,
        child_logs: LogSetup | None = None,
        on_run: RunHook | None = None,
    ) -> None:
        """``child_logs`` set: each run in a process of its own, logging so; else in this one.

        ``on_run(report, period, started, seconds)`` hears of every run that ended.
        """
        self.on_run = on_run
        self.config = config
        self.ledger = ledger
        self.clock = clock
        self.child_logs = child_logs
        self._children: dict[str, multiprocessing.process.BaseProcess] = {}
        self._failed_runs: dict[str, tuple[str, int]] = {}  # report -> (period, count)
        self._running: dict[str, str] = {}  # report -> period, while a run is in flight
        self._state = threading.Condition()
        self._stopping = False

    def deliver_latest(self, name: str, why: str) -> Retry | None:
        """Deliver the latest complete period if it is due and not sent everywhere yet."""
        report = self.config.reports[name]
        now = self.clock()
        period = resolve_period(report, None, now)
        try:
            if not is_due(report, period, now):
                log.info("%s %s: not due yet (%s)", name, period.key, why)
                return None
            if report.kind == "alert":  # each rule dedups itself in the ledger: no retries
                log.info("%s %s: checking the alert rules (%s)", name, period.key, why)
                with self._turn(report.name, period.key) as mine:
                    if mine:
                        self._run(report, period)
                return None
            if self._sent_to(report, period) == len(report.destinations):
                log.info("%s %s: already delivered (%s)", name, period.key, why)
                return None
            log.info("%s %s: delivering (%s)", name, period.key, why)
            return self._deliver(report, period)
        except Exception as exc:
            return self._crashed(report, period, exc)

    def recheck(self, name: str) -> None:
        """Re-fetch the latest period once it is sent, so late data gets its correction."""
        report = self.config.reports[name]
        now = self.clock()
        period = resolve_period(report, None, now)
        today = now.astimezone(report.zone).date()
        if report.kind != "report" or not in_correction_window(period.end, today):
            return
        if self._sent_to(report, period) != len(report.destinations):
            return  # not sent yet: the delivery and its retries come first
        log.info("%s %s: checking for late data", name, period.key)
        try:
            with self._turn(report.name, period.key) as mine:
                if mine:
                    self._run(report, period, recheck=True)
        except Exception as exc:
            self._crashed(report, period, exc)

    def retry(self, name: str, period_key: str) -> Retry | None:
        """Run a period that did not reach every destination again, while it is the latest."""
        report = self.config.reports[name]
        period = resolve_period(report, None, self.clock())
        if period.key != period_key:
            log.warning(
                "%s %s: no more retries: %s is the latest period now (see reportbot history)",
                name,
                period_key,
                period.key,
            )
            self._failed_runs.pop(name, None)
            return None
        try:
            if self._sent_to(report, period) == len(report.destinations):
                log.info("%s %s: delivered meanwhile (by another replica)", name, period.key)
                self._failed_runs.pop(name, None)
                return None
            log.info("%s %s: retrying", name, period.key)
            return self._deliver(report, period)
        except Exception as exc:
            return self._crashed(report, period, exc)

    def stop(self) -> None:
        """Start no new run from now on."""
        with self._state:
            self._stopping = True

    @property
    def stopping(self) -> bool:
        return self._stopping

    def wait_idle(self, timeout: float) -> dict[str, str]:
        """Wait up to ``timeout`` seconds for the runs in flight; return those still running."""
        with self._state:
            self._state.wait_for(lambda: not self._running, timeout)
            return dict(self._running)

    def _deliver(self, report: ReportConfig, period: Period) -> Retry | None:
        with self._turn(report.name, period.key) as mine:
            if not mine:
                return None
            if not self._run(report, period):
                return self._check_later(report, period)
            sent, total = self._sent_to(report, period), len(report.destinations)
            if sent == total:
                self._failed_runs.pop(report.name, None)
                log.info("%s %s: delivered to all %d destinations", report.name, period.key, total)
                return None
            failed = self.ledger.failed_for(report.name, period.key)
            permanent = bool(failed) and all(row.permanent for row in failed)
            what = f"sent to {sent} of {total} destinations"
            return self._retry_later(report, period, what, permanent=permanent)

    def _check_later(self, report: ReportConfig, period: Period) -> Retry | None:
        """Another replica runs it: look again once its claims would have gone stale."""
        if self._stopping:
            return None
        delay = timedelta(seconds=self.config.settings.claim_timeout)
        at = self.clock() + delay
        log.info(
            "%s %s: another replica is delivering it; checking again at %s",
            report.name,
            period.key,
            local_time(at, report.zone),
        )
        return Retry(report.name, period.key, at)

    def _run(self, report: ReportConfig, period: Period, *, recheck: bool = False) -> bool:
        """Run it; False when another replica holds its lease (nothing was done)."""
        started, clock = datetime.now(UTC), time.monotonic()
        try:
            return self._run_now(report, period, recheck)
        finally:
            if self.on_run is not None:
                self.on_run(report, period, started, time.monotonic() - clock)

    def _run_now(self, report: ReportConfig, period: Period, recheck: bool) -> bool:
        if self.child_logs is None:
            with ExitStack() as stack, self.ledger.run_lease(report.name, period.key) as mine:
                if not mine:
                    return False
                source_for = source_factory(self.config, stack, self.clock)
                runner = Runner(
                    self.config, source_for=source_for, ledger=self.ledger, now=self.clock
                )
                log_error(runner.run(report, period=period.key, corrections=recheck))
            return True
        args = (self.config, report.name, period.key, self.child_logs, recheck)
        child = SPAWN.Process(target=run_in_child, args=args, name=f"reportbot-{report.name}")
        with self._state:
            self._children[report.name] = child
        child.start()
        child.join()
        if child.exitcode == BUSY_ELSEWHERE:
            return False
        if child.exitcode:
            log.error(
                "%s %s: the run ended with status %s", report.name, period.key, child.exitcode
            )
        return True

    def kill_runs(self) -> None:
        """Kill the processes of runs in flight (their ledger rows stay ``sending``)."""
        with self._state:
            children = list(self._children.values())
        for child in children:
            if child.is_alive():
                child.kill()

    @contextmanager
    def _turn(self, name: str, period_key: str) -> Iterator[bool]:
        """One run per report at a time, and none once stopping."""
        with self._state:
            busy = self._running.get(name)
            mine = not self._stopping and busy is None
            if mine:
                self._running[name] = period_key
        if self._stopping:
            log.info("%s %s: not started: stopping", name, period_key)
        elif busy is not None:
            log.info("%s %s: not started: a run for %s is in flight", name, period_key, busy)
        try:
            yield mine
        finally:
            if mine:
                with self._state:
                    del self._running[name]
                    self._children.pop(name, None)
                    self._state.notify_all()

    def _sent_to(self, report: ReportConfig, period: Period) -> int:
        status = self.ledger.status(report.name, period.key)
        return sum(status.get(d) == "sent" for d in report.destinations)

    def _crashed(self, report: ReportConfig, period: Period, exc: Exception) -> Retry | None:
        if isinstance(exc, ReportbotError):
            log.error("%s %s: %s", report.name, period.key, exc)
        else:
            log.exception(
                "%s %s: internal error: %s: %s", report.name, period.key, type(exc).__name__, exc
            )
        return self._retry_later(report, period, "the run failed")

    def _retry_later(
        self, report: ReportConfig, period: Period, what: str, *, permanent: bool = False
    ) -> Retry | None:
        if self._stopping:
            return None
        last_period, count = self._failed_runs.get(report.name, (period.key, 0))
        count = count + 1 if last_period == period.key else 1
        self._failed_runs[report.name] = (period.key, count)
        delay = retry_delay(count, permanent=permanent)
        at = self.clock() + delay
        log.warning(
            "%s %s: %s%s; retry %d in %s, at %s",
            report.name,
            period.key,
            what,
            " (needs a fix: retried slowly)" if permanent else "",
            count,
            _duration(delay),
            local_time(at, report.zone),
        )
        return Retry(report.name, period.key, at)


def _duration(delay: timedelta) -> str:
    minutes = int(delay.total_seconds() // 60)
    return f"{minutes} min" if minutes < 60 else f"{minutes / 60:g} h"
