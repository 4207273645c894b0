"""Exactly once under races and crashes (issue 4): real processes, one shared ledger."""

from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.conftest import subprocess_env
from tests.fakes.databases import LEDGER_BACKENDS, ledger_database
from tests.fakes.slack_api import SlackApiStub
from tests.fakes.usage_api import UsageApiServer

pytestmark = pytest.mark.slow

PROCESSES = 8
REPETITIONS = 20
CHANNELS = {"C0000000001": "one", "C0000000002": "two", "C0000000003": "three"}
CONFIG = """
[[reports]]
name = "weekly-digest"
slack = ["#one", "#two", "C0000000003"]
"""
ROWS = [
    {"date": f"2024-{m:02d}-{d:02d}", "api_id": "mj", "amount": "1.5"}
    for m in range(1, 6)
    for d in range(1, 29)
]


@pytest.fixture(params=LEDGER_BACKENDS)
def ledger_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with ledger_database(request.param, tmp_path) as url:
        yield url


@pytest.fixture
def servers() -> Iterator[tuple[UsageApiServer, SlackApiStub]]:
    with UsageApiServer() as api, SlackApiStub(token="xoxb-t", channels=CHANNELS) as slack:
        api.serve_rows(ROWS, {"mj": "Midjourney"})
        yield api, slack


def environment(api: UsageApiServer, slack: SlackApiStub, ledger_url: str) -> dict[str, str]:
    return {
        "ACEDATA_TOKEN": "platform-v1-t",
        "ACEDATA_BASE_URL": api.url,
        "SLACK_BOT_TOKEN": "xoxb-t",
        "SLACK_API_URL": slack.url,
        "REPORTBOT_DATABASE_URL": ledger_url,
    }


def _child(folder: str, env: dict[str, str], argv: list[str], start: object) -> None:
    """A forked process running the real CLI once ``start`` is set."""
    os.chdir(folder)
    os.environ.update(env)
    start.wait()  # type: ignore[attr-defined]
    sys.argv = ["reportbot", *argv]
    from reportbot.cli.main import main

    try:
        main()
    except SystemExit as exc:
        os._exit(exc.code if isinstance(exc.code, int) else 1)
    os._exit(0)


def run_at_once(folder: Path, env: dict[str, str], argv: list[str], count: int) -> list[int]:
    fork = multiprocessing.get_context("fork")
    start = fork.Event()
    children = [
        fork.Process(target=_child, args=(str(folder), env, argv, start)) for _ in range(count)
    ]
    for child in children:
        child.start()
    start.set()
    for child in children:
        child.join(timeout=120)
    return [child.exitcode if child.exitcode is not None else -1 for child in children]


def posts_by_period(slack: SlackApiStub) -> Counter[tuple[str, str]]:
    return Counter((post.channel, post.text.split(":")[0]) for post in slack.posts)


def test_eight_processes_at_once_deliver_each_destination_exactly_once(
    tmp_path: Path, ledger_url: str, servers: tuple[UsageApiServer, SlackApiStub]
) -> None:
    api, slack = servers
    (tmp_path / "reportbot.toml").write_text(CONFIG, encoding="utf-8")
    env = environment(api, slack, ledger_url)
    for week in range(1, REPETITIONS + 1):
        period = f"2024-W{week:02d}"
        codes = run_at_once(tmp_path, env, ["run", "weekly-digest", "--period", period], PROCESSES)
        assert codes == [0] * PROCESSES, f"{period}: exit codes {codes}"
    counts = posts_by_period(slack)
    assert len(counts) == 3 * REPETITIONS
    assert set(counts.values()) == {1}, [key for key, n in counts.items() if n != 1]


def reportbot(folder: Path, env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "reportbot", *args],
        cwd=folder,
        env=subprocess_env(**env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.05)


def ledger_rows(url: str) -> list[tuple[str, str, int]]:
    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                sa.text("SELECT destination, status, attempts FROM deliveries ORDER BY destination")
            )
            return [(r[0], r[1], r[2]) for r in rows]
    finally:
        engine.dispose()


def test_a_process_killed_between_claim_and_mark_leaves_a_row_a_later_run_completes(
    tmp_path: Path, ledger_url: str, servers: tuple[UsageApiServer, SlackApiStub]
) -> None:
    api, slack = servers
    (tmp_path / "reportbot.toml").write_text(CONFIG, encoding="utf-8")
    env = {**environment(api, slack, ledger_url), "REPORTBOT_CLAIM_TIMEOUT": "1"}
    slack.fail_next("chat.postMessage", delay=30, after=1)  # the second channel hangs
    victim = reportbot(tmp_path, env, "run", "weekly-digest", "--period", "2024-W10")
    wait_for(lambda: slack.calls.count("chat.postMessage") >= 2, "the second post to start")
    victim.send_signal(signal.SIGKILL)
    victim.communicate(timeout=30)
    assert ledger_rows(ledger_url) == [("slack:#one", "sent", 1), ("slack:#two", "sending", 1)]

    time.sleep(1.2)  # let the claim go stale (REPORTBOT_CLAIM_TIMEOUT=1)
    later = reportbot(tmp_path, env, "run", "weekly-digest", "--period", "2024-W10")
    _, err = later.communicate(timeout=120)
    assert later.returncode == 0, err
    assert [row[:2] for row in ledger_rows(ledger_url)] == [
        ("slack:#one", "sent"),
        ("slack:#two", "sent"),
        ("slack:C0000000003", "sent"),
    ]
    accepted = Counter(post.channel for post in slack.posts)
    assert accepted == {"C0000000001": 1, "C0000000002": 1, "C0000000003": 1}


def test_a_claim_still_fresh_is_left_alone_by_a_later_run(
    tmp_path: Path, ledger_url: str, servers: tuple[UsageApiServer, SlackApiStub]
) -> None:
    api, slack = servers
    (tmp_path / "reportbot.toml").write_text(CONFIG, encoding="utf-8")
    env = environment(api, slack, ledger_url)  # default claim timeout: 15 minutes
    slack.fail_next("chat.postMessage", delay=30)
    victim = reportbot(tmp_path, env, "run", "weekly-digest", "--period", "2024-W11")
    wait_for(lambda: "chat.postMessage" in slack.calls, "the first post to start")
    victim.send_signal(signal.SIGKILL)
    victim.communicate(timeout=30)
    later = reportbot(tmp_path, env, "run", "weekly-digest", "--period", "2024-W11")
    out, _ = later.communicate(timeout=120)
    assert "slack:#one: skipped (being sent by another process)" in out
    assert later.returncode == 0


def test_a_process_killed_before_its_claim_blocks_nothing(
    tmp_path: Path, ledger_url: str, servers: tuple[UsageApiServer, SlackApiStub]
) -> None:
    api, slack = servers
    (tmp_path / "reportbot.toml").write_text(CONFIG, encoding="utf-8")
    env = environment(api, slack, ledger_url)
    api.fail_next(503, headers={"Retry-After": "30"})  # the fetch waits 30 s before retrying
    victim = reportbot(tmp_path, env, "run", "weekly-digest", "--period", "2024-W12")
    wait_for(lambda: len(api.requests) >= 1, "the fetch to start")
    victim.send_signal(signal.SIGKILL)
    victim.communicate(timeout=30)
    assert slack.posts == []
    later = reportbot(tmp_path, env, "run", "weekly-digest", "--period", "2024-W12")
    _, err = later.communicate(timeout=120)
    assert later.returncode == 0, err
    assert Counter(post.channel for post in slack.posts) == {
        "C0000000001": 1,
        "C0000000002": 1,
        "C0000000003": 1,
    }
