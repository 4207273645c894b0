"""``reportbot serve``: every report on its cron, in its own time zone; nothing missed or doubled.

    Service ── BlockingScheduler (APScheduler 3, jobs in memory, WORKER_THREADS threads)
      ├── report:NAME    LocalCronTrigger(the report's cron, its zone) ─┐
      ├── catch-up:NAME  once on start, and after a missed run          ├─▶ Worker
      └── retry:NAME     once, at the next step of the backoff          ─┘
    Worker (reportbot.service.worker) ── one spawned process per run: Runner (fetch … record)

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
import os
import signal
import threading
import time
from contextlib import suppress
from datetime import UTC
from pathlib import Path
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

from reportbot.config import Config, ReportConfig
from reportbot.core.cron import describe
from reportbot.ledger.schema import mask_database_url
from reportbot.ledger.store import Ledger
from reportbot.service.child import LogSetup
from reportbot.service.ephemeral import ephemeral_ledger_warning
from reportbot.service.triggers import local_time, next_run, recheck_trigger, report_trigger
from reportbot.service.worker import Retry, Worker

log = logging.getLogger(__name__)

JOB_DEFAULTS = {"misfire_grace_time": 3600, "coalesce": True, "max_instances": 1}
WORKER_THREADS = 4
SHUTDOWN_GRACE = 25.0


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
            if report.kind == "report":  # late data: the latest sent period, once a day
                self.scheduler.add_job(
                    self.worker.recheck,
                    recheck_trigger(report),
                    args=[report.name],
                    id=_id("recheck", report.name),
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
        in_container = Path("/.dockerenv").exists() or Path("/run/.containerenv").exists()
        warning = ephemeral_ledger_warning(
            self.config.settings.database_url, os.environ, in_container=in_container
        )
        if warning:
            log.warning("%s", warning)
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
    from reportbot.service.health import Health
    from reportbot.service.single_worker import one_worker_per_sqlite_ledger

    url = config.settings.database_url
    with one_worker_per_sqlite_ledger(url), Ledger(url) as ledger:
        worker = Worker(config, ledger, child_logs=logs)
        service = Service(config, worker, grace=grace)
        health = Health(config.settings, ledger, lambda: service.scheduler.running)
        worker.on_run = health.record_run
        health.start()
        try:
            service.run()
        finally:
            health.stop()
