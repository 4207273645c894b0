"""Several `serve` replicas on one PostgreSQL ledger; one worker per SQLite ledger."""

from __future__ import annotations

import os
import signal
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fakes.databases import ledger_database
from tests.test_serve import World, assert_clean_exit, monday, wait_until, world  # noqa: F401

pytestmark = pytest.mark.postgres
BUSY = "another replica is delivering it"
DONE = ("delivered to all 2 destinations", "delivered meanwhile", "already delivered")


@pytest.fixture
def postgres(tmp_path: Path) -> Iterator[str]:
    with ledger_database("postgres", tmp_path) as url:
        yield url


def replica_env(url: str) -> dict[str, str]:
    return {"REPORTBOT_DATABASE_URL": url, "REPORTBOT_CLAIM_TIMEOUT": "3"}


@pytest.mark.parametrize("replicas", [2, 3])
def test_a_due_report_is_fetched_and_posted_once_by_n_replicas(
    world: World,  # noqa: F811
    postgres: str,
    replicas: int,
) -> None:
    started = [world.serve(monday(9, 1), env=replica_env(postgres)) for _ in range(replicas)]
    wait_until(lambda: len(world.slack.posts) >= 2, "the digest to go out")
    # The others found it busy and look again once a claim would be stale (3 s), or
    # started late enough to find it delivered: either way they send nothing.
    wait_until(
        lambda: all(any(word in p.log for word in DONE) for p in started),
        "every replica to see it delivered",
    )
    assert len(world.api.usage_requests) == 1
    assert Counter(p.channel for p in world.slack.posts) == {"C0123456789": 1, "C0000000002": 1}
    for process in started:
        assert_clean_exit(process)


def test_a_replica_killed_mid_run_has_its_work_completed_once_by_another(
    world: World,  # noqa: F811
    postgres: str,
) -> None:
    world.api.fail_next(503, headers={"Retry-After": "30"})  # the first fetch waits 30 s
    first = world.serve(monday(9, 1), env=replica_env(postgres))
    wait_until(lambda: len(world.api.usage_requests) >= 1, "the first replica to fetch")
    second = world.serve(monday(9, 1), env=replica_env(postgres))
    second.wait_for_log(BUSY)
    os.killpg(first.popen.pid, signal.SIGKILL)  # the replica and the run it started
    first.popen.wait(timeout=30)
    second.wait_for_log("weekly-digest 2024-W33: delivered to all 2 destinations")
    assert Counter(p.channel for p in world.slack.posts) == {"C0123456789": 1, "C0000000002": 1}
    assert_clean_exit(second)


def test_a_second_worker_on_one_sqlite_ledger_says_so_and_exits_2(
    world: World,  # noqa: F811
) -> None:
    first = world.serve(monday(9, 1))
    first.wait_for_log("serving 1 report")
    second = world.serve(monday(9, 1))
    assert second.popen.wait(timeout=60) == 2
    second.stop()
    assert "another reportbot serve already uses the ledger" in second.log
    assert "Traceback" not in second.log
    assert_clean_exit(first)
