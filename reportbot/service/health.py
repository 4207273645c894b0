"""What the worker tells the outside: heartbeat pings, /metrics and /healthz.

    REPORTBOT_HEARTBEAT_URL   GET it every REPORTBOT_HEARTBEAT_INTERVAL seconds while the
                              scheduler runs and the ledger answers (healthchecks.io: no ping
                              for a while means the worker is down); POST URL/fail with the
                              error when a delivery fails
    REPORTBOT_METRICS_PORT    /metrics (Prometheus) and /healthz (200 alive, 503 not)

Runs happen in child processes, so the counters are kept here, in the serving process,
from the ledger rows each run changed (PITFALLS: a child's counters never reach /metrics).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import httpx
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, make_wsgi_app

from reportbot.errors import ReportbotError

if TYPE_CHECKING:
    from reportbot.config import ReportConfig
    from reportbot.core.periods import Period
    from reportbot.ledger.rows import Delivery
    from reportbot.ledger.store import Ledger
    from reportbot.settings import Settings

log = logging.getLogger(__name__)
PING_TIMEOUT = 10.0


class Health:
    def __init__(
        self, settings: Settings, ledger: Ledger, scheduler_alive: Callable[[], bool]
    ) -> None:
        self.ledger, self.scheduler_alive = ledger, scheduler_alive
        url = settings.heartbeat_url
        self.heartbeat_url = url.get_secret_value().rstrip("/") if url else None
        self.interval, self.port = settings.heartbeat_interval, settings.metrics_port
        self.host = settings.metrics_host
        self.registry = CollectorRegistry()
        self.deliveries = Counter(
            "reportbot_deliveries",
            "Delivery outcomes, by report, destination and status.",
            ["report", "destination", "status"],
            registry=self.registry,
        )
        self.last_success = Gauge(
            "reportbot_last_success_timestamp_seconds",
            "When a report last reached every destination (Unix time).",
            ["report"],
            registry=self.registry,
        )
        self.duration = Histogram(
            "reportbot_run_duration_seconds", "How long a run took.", registry=self.registry
        )
        self._stop = threading.Event()
        self._server: WSGIServer | None = None
        self._threads: list[threading.Thread] = []

    # -- lifecycle --

    def start(self) -> None:
        if self.port is not None:
            handler = type("QuietHandler", (WSGIRequestHandler,), {"log_message": _quiet})
            self._server = make_server(self.host, self.port, self._app, handler_class=handler)
            self._spawn("reportbot-metrics", self._server.serve_forever)
            log.info("serving /metrics and /healthz on %s:%d", self.host, self.bound_port)
        if self.heartbeat_url:
            self._spawn("reportbot-heartbeat", self._beat)

    def stop(self) -> None:
        self._stop.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        for thread in self._threads:
            thread.join(timeout=PING_TIMEOUT + 1)

    @property
    def bound_port(self) -> int:
        return self._server.server_port if self._server else 0

    def alive(self) -> bool:
        """The scheduler runs and the ledger answers."""
        if not self.scheduler_alive():
            return False
        try:
            self.ledger.history(limit=1)
        except ReportbotError as exc:
            log.warning("health: the ledger does not answer: %s", exc)
            return False
        return True

    # -- what runs report --

    def record_run(
        self, report: ReportConfig, period: Period, started: datetime, seconds: float
    ) -> None:
        """Count the ledger rows this run changed; ping /fail for the failed ones."""
        self.duration.observe(seconds)
        try:
            rows = self.ledger.history(report.name, limit=500)
        except ReportbotError as exc:
            log.warning("metrics: cannot read the ledger: %s", exc)
            return
        changed = [row for row in rows if row.updated_at >= started]
        for row in changed:
            self.deliveries.labels(report.name, row.destination, row.status).inc()
        status = {r.destination: r.status for r in rows if r.period == period.key}
        if report.kind == "report" and all(status.get(d) == "sent" for d in report.destinations):
            self.last_success.labels(report.name).set(time.time())
        failed = [row for row in changed if row.status == "failed"]
        if failed and self.heartbeat_url:
            self._ping("/fail", _failure_text(failed))

    # -- inside --

    def _spawn(self, name: str, target: Callable[[], None]) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    def _beat(self) -> None:
        while True:
            if self.alive():
                self._ping("", None)
            if self._stop.wait(self.interval):
                return

    def _ping(self, suffix: str, body: str | None) -> None:
        assert self.heartbeat_url is not None
        try:
            if body is None:
                httpx.get(self.heartbeat_url + suffix, timeout=PING_TIMEOUT)
            else:
                httpx.post(self.heartbeat_url + suffix, content=body.encode(), timeout=PING_TIMEOUT)
        except httpx.HTTPError as exc:  # the URL is a secret: name only the failure
            log.warning("heartbeat%s not delivered: %s", suffix, type(exc).__name__)

    def _app(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == "/healthz":
            ok = self.alive()
            start_response(
                "200 OK" if ok else "503 Service Unavailable", [("Content-Type", "text/plain")]
            )
            return [b"ok\n" if ok else b"unhealthy\n"]
        metrics: Iterable[bytes] = make_wsgi_app(self.registry)(environ, start_response)
        return metrics


def _failure_text(rows: list[Delivery]) -> str:
    return "\n".join(f"{r.report} {r.period} {r.destination}: {r.last_error}" for r in rows)


def _quiet(*_: object) -> None:
    """No access log on stderr."""
