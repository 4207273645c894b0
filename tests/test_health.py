"""The worker's health: heartbeat pings (and /fail), /metrics and /healthz, read for real."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from tests.test_serve import World, assert_clean_exit, monday, wait_until, world  # noqa: F401


class PingRecorder:
    """A local healthchecks.io: records (method, path, body) of every request."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, str]] = []
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self._record()

            def do_POST(self) -> None:
                self._record()

            def _record(self) -> None:
                size = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(size).decode() if size else ""
                recorder.calls.append((self.command, self.path, body))
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"OK")

            def log_message(self, *_: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> PingRecorder:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def pings() -> Iterator[PingRecorder]:
    with PingRecorder() as recorder:
        yield recorder


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_the_worker_pings_serves_metrics_and_healthz_and_reports_a_failure(
    world: World, pings: PingRecorder  # noqa: F811
) -> None:
    world.slack.not_member.add("C0000000002")  # one of the two destinations fails
    port = free_port()
    env = {
        "REPORTBOT_HEARTBEAT_URL": f"{pings.url}/ping/check-uuid",
        "REPORTBOT_HEARTBEAT_INTERVAL": "1",
        "REPORTBOT_METRICS_PORT": str(port),
        "REPORTBOT_METRICS_HOST": "127.0.0.1",
    }
    process = world.serve(monday(9, 1), env=env)
    process.wait_for_log("weekly-digest 2024-W33: sent to 1 of 2 destinations")
    wait_until(lambda: ("POST", "/ping/check-uuid/fail") in [c[:2] for c in pings.calls], "/fail")
    wait_until(lambda: ("GET", "/ping/check-uuid") in [c[:2] for c in pings.calls], "a ping")
    (fail,) = [c for c in pings.calls if c[1].endswith("/fail")]
    assert "slack:C0000000002" in fail[2] and "not_in_channel" in fail[2]

    metrics = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
    sent = 'destination="slack:#api-usage",report="weekly-digest",status="sent"} 1.0'
    failed = 'destination="slack:C0000000002",report="weekly-digest",status="failed"} 1.0'
    assert f"reportbot_deliveries_total{{{sent}" in metrics
    assert f"reportbot_deliveries_total{{{failed}" in metrics
    assert "reportbot_run_duration_seconds_count 1.0" in metrics
    assert 'reportbot_last_success_timestamp_seconds{report="weekly-digest"}' not in metrics
    health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=10)
    assert health.status_code == 200
    assert_clean_exit(process)
    assert "check-uuid" not in process.log  # the heartbeat URL is a secret


def test_a_report_that_reaches_every_destination_sets_its_last_success(
    world: World,  # noqa: F811
) -> None:
    port = free_port()
    env = {"REPORTBOT_METRICS_PORT": str(port), "REPORTBOT_METRICS_HOST": "127.0.0.1"}
    process = world.serve(monday(9, 1), env=env)
    process.wait_for_log("weekly-digest 2024-W33: delivered to all 2 destinations")
    metrics = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
    assert 'reportbot_last_success_timestamp_seconds{report="weekly-digest"}' in metrics
    assert_clean_exit(process)


def test_healthz_is_503_when_the_scheduler_is_not_running(tmp_path: Path) -> None:
    from reportbot.ledger.store import Ledger
    from reportbot.service.health import Health
    from reportbot.settings import Settings

    settings = Settings.model_validate(
        {"REPORTBOT_METRICS_PORT": 0, "REPORTBOT_METRICS_HOST": "127.0.0.1"}
    )
    running = [True]
    with Ledger(f"sqlite:///{tmp_path / 'ledger.db'}") as ledger:
        health = Health(settings, ledger, lambda: running[0])
        health.start()
        try:
            url = f"http://127.0.0.1:{health.bound_port}/healthz"
            assert httpx.get(url, timeout=10).status_code == 200
            running[0] = False
            assert httpx.get(url, timeout=10).status_code == 503
        finally:
            health.stop()
