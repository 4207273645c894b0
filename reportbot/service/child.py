"""One run of a report in a process of its own, forked from a preloaded forkserver.

The serving process never imports what runs need; each run does its work and exits, so
what it loads and allocates leaves with it. A run first takes its (report, period) lease
in the ledger: with several replicas, only one runs it (reportbot.ledger.store).
"""

from __future__ import annotations

import logging
import multiprocessing
import signal
import sys
from dataclasses import dataclass

from reportbot.config import Config
from reportbot.delivery.usage import RunResult
from reportbot.delivery.wiring import open_runner
from reportbot.logs import setup_logging

log = logging.getLogger("reportbot.service.worker")

# Each run is a process of its own, forked from a forkserver: a clean interpreter that has
# imported what runs need (Jinja, slack-sdk, SQLAlchemy, matplotlib) once and run nothing,
# so a run starts in milliseconds instead of re-importing everything, and what a run loads
# and allocates still leaves with it. The serving process itself stays small.
PRELOAD = [
    "reportbot.delivery.wiring",
    "reportbot.render.rendered",
    "reportbot.render.slack",
    "reportbot.render.email",
    "reportbot.render.chart",
    "matplotlib.figure",
    "matplotlib.backends.backend_agg",
    "reportbot.destinations.slack",
    "reportbot.destinations.smtp",
    "reportbot.ledger.store",
    "reportbot.sources.acedata",
    "reportbot.sources.balance",
]
SPAWN = multiprocessing.get_context("forkserver")
SPAWN.set_forkserver_preload(PRELOAD)
BUSY_ELSEWHERE = 75  # a run's exit status when another replica holds its lease (EX_TEMPFAIL)


@dataclass(frozen=True)
class LogSetup:
    """How the serving process logs, for the processes it runs reports in."""

    level: int
    fmt: str
    traceback: bool


def run_in_child(
    config: Config, name: str, period_key: str, logs: LogSetup, recheck: bool = False
) -> None:
    """One run in a fresh process: what it imports (Jinja, matplotlib ...) leaves with it."""
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, signal.SIG_IGN)  # the server decides when to stop, and waits
    setup_logging(logs.level, logs.fmt, traceback=logs.traceback)
    try:
        with open_runner(config, with_ledger=True) as runner:
            assert runner.ledger is not None
            with runner.ledger.run_lease(name, period_key) as mine:
                if not mine:
                    log.info("%s %s: another replica is running it", name, period_key)
                    sys.exit(BUSY_ELSEWHERE)
                report = config.reports[name]
                log_error(runner.run(report, period=period_key, corrections=recheck))
    except Exception as exc:
        log.exception("%s %s: internal error: %s: %s", name, period_key, type(exc).__name__, exc)
        sys.exit(1)


def log_error(result: RunResult) -> None:
    if result.error is not None:
        period = result.period.key if result.period else "?"
        log.error("%s %s: %s", result.report, period, result.error)
