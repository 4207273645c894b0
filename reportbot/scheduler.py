"""``reportbot serve``: every report on its cron, in its own time zone; nothing missed or doubled.

    Service ── BlockingScheduler (APScheduler 3, jobs in memory, WORKER_THREADS threads)
      ├── report:NAME    LocalCronTrigger(the report's cron, its zone) ─┐
      ├── catch-up:NAME  once on start, and after a missed run          ├─▶ Worker
      └── retry:NAME     once, at the next step of the backoff          ─┘
    Worker ── one spawned process per run: Runner (fetch, render, claim, send, record)

Catch-up. APScheduler's memory store forgets runs missed while the process was down, so the
ledger decides. A report's latest complete period is *due* once its schedule has fired at
least once since the period ended; a due period not yet sent to every destination is
delivered at once. Only that period: older ones are never sent by the worker (``reportbot run
NAME --period P`` does that). So a deploy on Monday at 08:59 finds last week not yet due (the
cron has not fired since Sunday midnight) and sends nothing; the 09:00 run sends it. A deploy
at 09:01 finds it due: sent now if the old process had not sent it at 09:00, else not at all.
Either way one digest, and a monthly report scheduled for the 5th is not sent early by a
deploy on the 2nd.

Retries. A run that leaves a destination not ``sent`` (failed, or ``sending`` by another
process) runs again after 5, 10, 20, ... minutes, at most 6 hours apart, for as long as its
period is the latest complete one; then its rows stay ``failed`` in ``reportbot history``.
Permanent failures (unknown channel, bot not invited, refused login) are retried too: people
fix them in Slack or at the mail server without restarting the worker, and one call every
few hours costs nothing. The backoff lives in memory: a restarted worker tries once at once.

Daylight saving. Triggers run in the report's zone. A local time that a spring change skips
fires once, an hour late (APScheduler); one that an autumn change repeats fires only the
first time (LocalCronTrigger). Besides, every run is keyed by period in the ledger, so a
second run for the same period sends nothing.

Shutdown. SIGTERM or SIGINT stops new runs, gives runs in flight ``grace`` seconds (platforms
kill at 30), logs any still running and exits 0. An interrupted delivery stays ``sending`` in
the ledger and becomes retryable once its claim goes stale (at-least-once, see ledger.py).

Memory. Each run happens in a freshly spawned process, so what a run loads (Jinja,
matplotlib for charts, Slack and SMTP clients) and allocates leaves with it: the serving
process idles near 50 MB and does not grow. A spawn costs about a second per run.

Clock. The Worker decides what is due through its ``clock``; APScheduler reads
``datetime.now``. Tests drive the Worker with a fake clock, and run the real process under
time-machine: no test hook lives here.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import FrameType
from typing import Any

from apscheduler.events import (
    EVENT_JOB_ERROR,
    EVENT_JOB_MAX_INSTANCES,
    EVENT_JOB_MISSED,
    EVENT_SCHEDULER_STARTED,
)
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers import SchedulerNotRunningError
from apscheduler.schedulers.blocking import BlockingScheduler

from reportbot.app import open_runner, source_factory, utc_now
from reportbot.config import Config, ReportConfig
from reportbot.cron import describe
from reportbot.delivery import Runner, RunResult, resolve_period
from reportbot.errors import ReportbotError
from reportbot.ledger import Ledger
from reportbot.ledger_schema import mask_database_url
from reportbot.logs import setup_logging
from reportbot.periods import Period
from reportbot.triggers import is_due, local_time, next_run, report_trigger, retry_delay

log = logging.getLogger(__name__)

JOB_DEFAULTS = {"misfire_grace_time": 3600, "coalesce": True, "max_instances": 1}
WORKER_THREADS = 4
SHUTDOWN_GRACE = 25.0
Clock = Callable[[], datetime]
_SPAWN = multiprocessing.get_context("spawn")  # a fresh interpreter: no threads, no locks


@dataclass(frozen=True)
class LogSetup:
    """How the serving process logs, for the processes it runs reports in."""

    level: int
    fmt: str
    traceback: bool


def _run_in_child(config: Config, name: str, period_key: str, logs: LogSetup) -> None:
    """One run in a fresh process: what it imports (Jinja, matplotlib ...) leaves with it."""
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, signal.SIG_IGN)  # the server decides when to stop, and waits
    setup_logging(logs.level, logs.fmt, traceback=logs.traceback)
    try:
        with open_runner(config, with_ledger=True) as runner:
            _log_error(runner.run(config.reports[name], period=period_key))
    except Exception as exc:
        log.exception("%s %s: internal error: %s: %s", name, period_key, type(exc).__name__, exc)
        sys.exit(1)


def _log_error(result: RunResult) -> None:
    if result.error is not None:
        period = result.period.key if result.period else "?"
        log.error("%s %s: %s", result.report, period, result.error)


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
    ) -> None:
        """``child_logs`` set: each run in a process of its own, logging so; else in this one."""
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
            if self._sent_to(report, period) == len(report.destinations):
                log.info("%s %s: already delivered (%s)", name, period.key, why)
                return None
            log.info("%s %s: delivering (%s)", name, period.key, why)
            return self._deliver(report, period)
        except Exception as exc:
            return self._crashed(report, period, exc)

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
        log.info("%s %s: retrying", name, period.key)
        try:
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
            self._run(report, period)
            sent, total = self._sent_to(report, period), len(report.destinations)
            if sent == total:
                self._failed_runs.pop(report.name, None)
                log.info("%s %s: delivered to all %d destinations", report.name, period.key, total)
                return None
            return self._retry_later(report, period, f"sent to {sent} of {total} destinations")

    def _run(self, report: ReportConfig, period: Period) -> None:
        if self.child_logs is None:
            with ExitStack() as stack:
                source_for = source_factory(self.config, stack, self.clock)
                runner = Runner(
                    self.config, source_for=source_for, ledger=self.ledger, now=self.clock
                )
                _log_error(runner.run(report, period=period.key))
            return
        args = (self.config, report.name, period.key, self.child_logs)
        child = _SPAWN.Process(target=_run_in_child, args=args, name=f"reportbot-{report.name}")
        with self._state:
            self._children[report.name] = child
        child.start()
        child.join()
        if child.exitcode:
            log.error(
                "%s %s: the run ended with status %s", report.name, period.key, child.exitcode
            )

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

    def _retry_later(self, report: ReportConfig, period: Period, what: str) -> Retry | None:
        if self._stopping:
            return None
        last_period, count = self._failed_runs.get(report.name, (period.key, 0))
        count = count + 1 if last_period == period.key else 1
        self._failed_runs[report.name] = (period.key, count)
        delay = retry_delay(count)
        at = self.clock() + delay
        log.warning(
            "%s %s: %s; retry %d in %s, at %s",
            report.name,
            period.key,
            what,
            count,
            _duration(delay),
            local_time(at, report.zone),
        )
        return Retry(report.name, period.key, at)


def _duration(delay: timedelta) -> str:
    minutes = int(delay.total_seconds() // 60)
    return f"{minutes} min" if minutes < 60 else f"{minutes / 60:g} h"


class Service:
    """The APScheduler side: jobs, listeners, signals and a bounded shutdown."""

    def __init__(self, config: Config, worker: Worker, *, grace: float = SHUTDOWN_GRACE) -> None:
        self.config = config
        self.worker = worker
        self.grace = grace
        self._deadline: float | None = None
        self._shutdown_started = False
        self.scheduler = BlockingScheduler(
            executors={"default": ThreadPoolExecutor(WORKER_THREADS)},
            job_defaults=JOB_DEFAULTS,
            timezone=UTC,
        )
        for report in config.reports.values():
            self.scheduler.add_job(
                self._scheduled,
                report_trigger(report),
                args=[report.name],
                id=_id("report", report.name),
            )
        events = EVENT_JOB_ERROR | EVENT_JOB_MISSED | EVENT_JOB_MAX_INSTANCES
        self.scheduler.add_listener(self.on_job_event, events)
        self.scheduler.add_listener(self._on_started, EVENT_SCHEDULER_STARTED)

    def run(self) -> None:
        """Serve until SIGTERM or SIGINT; return once runs in flight are done."""
        self._log_start()
        for name in self.config.reports:
            self._catch_up_soon(name, "catch-up on start")
        handlers = {
            sig: signal.signal(sig, self._on_signal) for sig in (signal.SIGTERM, signal.SIGINT)
        }
        try:
            self.scheduler.start()
        finally:
            for sig, handler in handlers.items():
                signal.signal(sig, handler)
        self._drain()

    def _log_start(self) -> None:
        url = mask_database_url(self.config.settings.database_url)
        count = len(self.config.reports)
        log.info("serving %d report%s; ledger %s", count, "s" * (count != 1), url)
        for report in self.config.reports.values():
            log.info(
                "%s: %s (%s) to %s",
                report.name,
                describe(report.cron),
                report.timezone,
                ", ".join(report.destinations),
            )
            self._log_next_run(report)

    def _log_next_run(self, report: ReportConfig) -> None:
        fire = next_run(report, self.worker.clock())
        shown = local_time(fire, report.zone) if fire else "never"
        log.info("%s: next run %s", report.name, shown)

    # -- jobs (on the executor's threads) --

    def _scheduled(self, name: str) -> None:
        self._then(name, self.worker.deliver_latest(name, "scheduled run"))
        self._log_next_run(self.config.reports[name])

    def _catch_up(self, name: str, why: str) -> None:
        self._then(name, self.worker.deliver_latest(name, why))

    def _retry(self, name: str, period_key: str) -> None:
        self._then(name, self.worker.retry(name, period_key))

    def _then(self, name: str, retry: Retry | None) -> None:
        if self.worker.stopping:
            return
        if retry is None:
            with suppress(JobLookupError):
                self.scheduler.remove_job(_id("retry", name))
            return
        self.scheduler.add_job(
            self._retry,
            "date",
            run_date=retry.at,
            args=[retry.report, retry.period],
            id=_id("retry", name),
            replace_existing=True,
        )

    def _catch_up_soon(self, name: str, why: str) -> None:
        self.scheduler.add_job(
            self._catch_up, args=[name, why], id=_id("catch-up", name), replace_existing=True
        )

    # -- listeners (on whichever thread raised the event) --

    def on_job_event(self, event: Any) -> None:
        kind, _, name = str(event.job_id).partition(":")
        if event.code == EVENT_JOB_MISSED:
            due = getattr(event, "scheduled_run_time", None)
            log.warning("%s: the %s run due at %s was missed (paused or busy)", name, kind, due)
            if not self.worker.stopping:
                self._catch_up_soon(name, "catch-up after a missed run")
        elif event.code == EVENT_JOB_MAX_INSTANCES:
            log.warning("%s: the %s run was skipped: the previous one is still running", name, kind)
        else:
            exc = getattr(event, "exception", None)
            log.error("%s: the %s job failed: %s: %s", name, kind, type(exc).__name__, exc)

    def _on_started(self, event: Any) -> None:
        if self.worker.stopping:  # a signal came before the scheduler was running
            self._shutdown_soon()

    # -- shutdown --

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        which = signal.Signals(signum).name
        if self.worker.stopping:
            log.warning("%s: already stopping", which)
            return
        self.worker.stop()
        self._deadline = time.monotonic() + self.grace
        log.info("%s: stopping; runs in flight get %g s to finish", which, self.grace)
        if self.scheduler.running:
            self._shutdown_soon()

    def _shutdown_soon(self) -> None:
        # Not from the signal handler itself: it may have interrupted the scheduler's loop
        # while that held the scheduler's locks.
        if self._shutdown_started:
            return
        self._shutdown_started = True
        threading.Thread(target=self._shutdown, name="reportbot-shutdown", daemon=True).start()

    def _shutdown(self) -> None:
        with suppress(SchedulerNotRunningError):
            self.scheduler.shutdown(wait=False)

    def _drain(self) -> None:
        deadline = self._deadline or time.monotonic() + self.grace
        still = self.worker.wait_idle(max(deadline - time.monotonic(), 0.0))
        if not still:
            log.info("stopped")
            return
        runs = ", ".join(f"{name} {period}" for name, period in still.items())
        log.warning(
            "stopped after %g s with %s still running: interrupted; its ledger rows stay "
            "'sending' and a later run completes them once the claim is stale",
            self.grace,
            runs,
        )
        self.worker.kill_runs()
        logging.shutdown()
        os._exit(0)  # the pool's threads are not daemons: do not wait for them


def _id(kind: str, name: str) -> str:
    return f"{kind}:{name}"


def serve(config: Config, logs: LogSetup, *, grace: float = SHUTDOWN_GRACE) -> None:
    """The worker: every report on its schedule until SIGTERM or SIGINT.

    Each run happens in a process of its own, so this one stays small and does not grow.
    """
    with Ledger(config.settings.database_url) as ledger:
        Service(config, Worker(config, ledger, child_logs=logs), grace=grace).run()
