"""``reportbot serve`` as a real process, against the local usage API and Slack stub.

The process runs under time-machine (``tick=True``): it starts at a chosen instant and its
clock then moves at real speed, so a Monday 09:00 run is a few real seconds away. The
wrapper below is the only place that knows: reportbot itself has no test hook for time.
The serving process decides what is due on that clock; each run then happens in a spawned
process on the real clock, which names its period explicitly, so only the ledger's
timestamps are real ones.
"""

from __future__ import annotations

import json
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from reportbot.ledger.store import Ledger
from tests.fakes.cli import reportbot_argv, reportbot_env, run_reportbot
from tests.fakes.slack_api import SlackApiStub
from tests.fakes.usage_api import UsageApiServer
from tests.test_cli_run import CONFIG, NAMES, ROWS, SLACK_TOKEN, TOKEN

pytestmark = pytest.mark.slow

BERLIN = ZoneInfo("Europe/Berlin")
TIMEOUT = 60.0
CHANNEL_IDS = ["C0123456789", "C0000000002"]


def wait_until(condition: Callable[[], bool], what: str, timeout: float = TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


@dataclass
class Process:
    """A running reportbot command whose stderr is collected line by line."""

    popen: subprocess.Popen[str]
    lines: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.popen.stderr is not None
        for line in self.popen.stderr:
            self.lines.append(line.rstrip("\n"))

    @property
    def log(self) -> str:
        return "\n".join(self.lines)

    def wait_for_log(self, text: str) -> None:
        wait_until(lambda: text in self.log or self.popen.poll() is not None, repr(text))
        assert text in self.log, self.log

    def stop(self, sig: signal.Signals = signal.SIGTERM) -> int:
        if self.popen.poll() is None:
            self.popen.send_signal(sig)
        status = self.popen.wait(timeout=TIMEOUT)
        self._reader.join(timeout=TIMEOUT)
        return status


@dataclass
class World:
    folder: Path
    api: UsageApiServer
    slack: SlackApiStub
    started: list[Process] = field(default_factory=list)

    @property
    def ledger_url(self) -> str:
        return f"sqlite:///{self.folder / 'ledger.db'}"

    def env(self, now: datetime, **extra: str) -> dict[str, str]:
        return reportbot_env(
            self.folder,
            api=self.api,
            api_token=TOKEN,
            slack=self.slack,
            slack_token=SLACK_TOKEN,
            now=now,
            **extra,
        )

    def serve(
        self,
        now: datetime,
        *args: str,
        serve_args: tuple[str, ...] = (),
        env: dict[str, str] | None = None,
    ) -> Process:
        """``reportbot [ARGS] serve [SERVE_ARGS]`` with the clock set to ``now``."""
        popen = subprocess.Popen(
            reportbot_argv(*args, "serve", *serve_args, now=now),
            cwd=self.folder,
            env=self.env(now, **(env or {})),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,  # a group of its own: a test may kill it with its runs
        )
        process = Process(popen)
        self.started.append(process)
        return process

    def run(self, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
        """``reportbot ARGS`` on the real clock."""
        return run_reportbot(self.folder, self.env(datetime.now(BERLIN), **env), *args)

    def statuses(self) -> dict[tuple[str, str], str]:
        with Ledger(self.ledger_url) as ledger:
            return {(d.period, d.destination): d.status for d in ledger.history(limit=100)}


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    (tmp_path / "reportbot.toml").write_text(CONFIG, encoding="utf-8")
    channels = {"C0123456789": "api-usage", "C0000000002": "finance"}
    with (
        UsageApiServer(token=TOKEN) as api,
        SlackApiStub(token=SLACK_TOKEN, channels=channels) as slack,
    ):
        api.serve_rows(ROWS, NAMES)
        world = World(tmp_path, api, slack)
        try:
            yield world
        finally:
            for process in world.started:
                if process.popen.poll() is None:
                    process.popen.kill()
                    process.popen.wait()


def monday(hour: int, minute: int, second: int = 0) -> datetime:
    """Monday 2024-08-19 in Berlin: week 33 (Aug 12-18) is the latest complete week."""
    return datetime(2024, 8, 19, hour, minute, second, tzinfo=BERLIN)


def assert_clean_exit(process: Process) -> None:
    assert process.stop() == 0, process.log
    assert "Traceback" not in process.log
    for secret in (TOKEN, SLACK_TOKEN):
        assert secret not in process.log


def test_a_due_report_is_delivered_once_on_start_and_not_again_after_a_restart(
    world: World,
) -> None:
    first = world.serve(monday(9, 1))
    first.wait_for_log("weekly-digest 2024-W33: delivered to all 2 destinations")
    assert "serving 1 report; ledger sqlite:///" in first.log
    assert "weekly-digest 2024-W33: delivering (catch-up on start)" in first.log
    assert "weekly-digest: next run Mon 2024-08-26 09:00 CEST" in first.log
    assert_clean_exit(first)
    assert [p.channel for p in world.slack.posts] == CHANNEL_IDS
    assert "week 33" in (world.slack.posts[0].text or "")

    again = world.serve(monday(9, 5), "--log-format", "json")
    again.wait_for_log("weekly-digest 2024-W33: already delivered (catch-up on start)")
    assert_clean_exit(again)
    assert len(world.slack.posts) == 2
    messages = [json.loads(line)["message"] for line in again.lines]  # every line is JSON
    assert "SIGTERM: stopping; runs in flight get 25 s to finish" in messages
    assert messages[-1] == "stopped"


def test_a_deploy_at_0859_leaves_the_digest_to_the_0900_run_which_sends_it_once(
    world: World,
) -> None:
    process = world.serve(monday(8, 59, 55))
    process.wait_for_log("weekly-digest 2024-W33: not due yet (catch-up on start)")
    assert world.slack.posts == []
    process.wait_for_log("weekly-digest 2024-W33: delivering (scheduled run)")
    process.wait_for_log("weekly-digest 2024-W33: delivered to all 2 destinations")
    process.wait_for_log("weekly-digest: next run Mon 2024-08-26 09:00 CEST")
    assert_clean_exit(process)
    assert [p.channel for p in world.slack.posts] == CHANNEL_IDS


def test_sigterm_mid_delivery_lets_it_finish_and_exits_0(world: World) -> None:
    world.slack.fail_next("chat.postMessage", delay=3.0)
    process = world.serve(monday(9, 1), "--log-format", "json")
    wait_until(lambda: "chat.postMessage" in world.slack.calls, "the first post")
    process.popen.send_signal(signal.SIGTERM)
    assert_clean_exit(process)
    logged = [json.loads(line) for line in process.lines]  # the run's process logs JSON too
    messages = [entry["message"] for entry in logged]
    assert messages.index("SIGTERM: stopping; runs in flight get 25 s to finish") < (
        messages.index("weekly-digest 2024-W33: delivered to all 2 destinations")
    )
    assert messages[-1] == "stopped"
    loggers = {entry["logger"] for entry in logged}
    assert {"reportbot.delivery.loop", "reportbot.sources.acedata"} <= loggers
    assert world.statuses() == {
        ("2024-W33", "slack:#api-usage"): "sent",
        ("2024-W33", "slack:C0000000002"): "sent",
    }
    assert [p.channel for p in world.slack.posts] == CHANNEL_IDS


def test_a_delivery_outlasting_the_grace_is_logged_and_left_for_a_later_run(
    world: World,
) -> None:
    world.slack.fail_next("chat.postMessage", delay=10.0)
    process = world.serve(monday(9, 1), serve_args=("--grace", "1"))
    wait_until(lambda: "chat.postMessage" in world.slack.calls, "the first post")
    process.popen.send_signal(signal.SIGTERM)
    assert process.stop() == 0, process.log
    assert "weekly-digest 2024-W33 still running: interrupted" in process.lines[-1]
    assert world.statuses() == {("2024-W33", "slack:#api-usage"): "sending"}

    # Once the claim is stale (REPORTBOT_CLAIM_TIMEOUT), a later run completes it. Runs
    # happen in a child process on the real clock, so the ledger's times are real ones.
    time.sleep(1.2)
    later = world.run("run", "weekly-digest", "--period", "2024-W33", REPORTBOT_CLAIM_TIMEOUT="1")
    assert later.returncode == 0, later.stderr
    assert set(world.statuses().values()) == {"sent"}
    assert len(world.statuses()) == 2


def resident_mb(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text(encoding="utf-8")
    kilobytes = next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS:"))
    return int(kilobytes) / 1024


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads /proc")
def test_serve_stays_small_after_runs_that_draw_charts(world: World) -> None:
    config = world.folder / "reportbot.toml"
    config.write_text(config.read_text(encoding="utf-8") + "chart = true\n", encoding="utf-8")
    process = world.serve(monday(9, 1))
    process.wait_for_log("weekly-digest 2024-W33: delivered to all 2 destinations")
    assert len(world.slack.uploads) == 2  # matplotlib was loaded, in the run's process
    assert resident_mb(process.popen.pid) < 80
    assert_clean_exit(process)


def test_serve_with_missing_credentials_exits_2_before_starting(world: World) -> None:
    result = world.run("serve", SLACK_BOT_TOKEN="")
    assert result.returncode == 2
    assert "reportbot: error: report 'weekly-digest': slack: SLACK_BOT_TOKEN is not set" in (
        result.stderr
    )
    assert world.api.requests == [] and not (world.folder / "ledger.db").exists()
