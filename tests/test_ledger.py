"""The delivery ledger against SQLite and PostgreSQL (see tests/fakes/databases.py)."""

from __future__ import annotations

import functools
import logging
import multiprocessing
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import sqlalchemy as sa
from hypothesis import assume, given
from hypothesis import strategies as st

from reportbot.errors import ConfigError, LedgerError
from reportbot.ledger.rows import Claim
from reportbot.ledger.schema import (
    MIGRATIONS,
    apply_migrations,
    create_ledger_engine,
    mask_database_url,
    normalize_database_url,
)
from reportbot.ledger.store import Ledger
from tests.fakes.databases import LEDGER_BACKENDS, ledger_database

T0 = datetime(2024, 8, 19, 9, 0, tzinfo=UTC)
WEEK = ("2024-W33", date(2024, 8, 12), date(2024, 8, 18))
RACERS = 8
ROUNDS = 20
RACE_TIMEOUT = 120


class FakeClock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


@pytest.fixture(params=LEDGER_BACKENDS)
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with ledger_database(request.param, tmp_path) as ledger_url:
        yield ledger_url


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(T0)


@pytest.fixture
def ledger(url: str, clock: FakeClock) -> Iterator[Ledger]:
    with Ledger(url, clock=clock) as opened:
        yield opened


def claim(
    ledger: Ledger, destination: str = "slack:#costs", *, report: str = "weekly", **kw: Any
) -> Claim | None:
    return ledger.claim(report, *WEEK, destination, **kw)


def schema_rows(url: str) -> list[tuple[Any, ...]]:
    engine = create_ledger_engine(url)
    try:
        with engine.connect() as conn:
            query = sa.text("SELECT version, name, applied_at FROM reportbot_schema ORDER BY 1")
            return [tuple(row) for row in conn.execute(query)]
    finally:
        engine.dispose()


# Claiming and marking


def test_a_claimed_delivery_is_marked_sent_with_its_receipt(ledger: Ledger) -> None:
    taken = claim(ledger)

    assert taken is not None
    assert (taken.attempt, taken.previous_status) == (1, None)
    assert ledger.mark_sent(taken, "1724058000.000100")
    [row] = ledger.history()
    assert (row.status, row.receipt, row.attempts) == ("sent", "1724058000.000100", 1)
    assert (row.period, row.period_start, row.period_end) == WEEK


def test_a_sent_destination_is_not_claimed_again(ledger: Ledger) -> None:
    taken = claim(ledger)
    assert taken is not None
    ledger.mark_sent(taken, "ts")

    assert claim(ledger) is None


def test_another_destination_or_period_is_claimed_independently(ledger: Ledger) -> None:
    taken = claim(ledger)
    assert taken is not None
    ledger.mark_sent(taken, "ts")

    assert claim(ledger, "email:finance@example.com") is not None
    assert ledger.claim("weekly", "2024-W34", date(2024, 8, 19), date(2024, 8, 25), "slack:#costs")


def test_force_reclaims_a_sent_destination(ledger: Ledger) -> None:
    taken = claim(ledger)
    assert taken is not None
    ledger.mark_sent(taken, "ts-1")

    again = claim(ledger, force=True)

    assert again is not None
    assert (again.attempt, again.previous_status) == (2, "sent")
    assert again.token != taken.token
    assert ledger.status("weekly", WEEK[0]) == {"slack:#costs": "sending"}


def test_force_does_not_take_a_claim_that_is_still_sending(ledger: Ledger) -> None:
    assert claim(ledger) is not None

    assert claim(ledger, force=True) is None


def test_a_failed_destination_is_reclaimable_and_its_attempts_grow(ledger: Ledger) -> None:
    for attempt in (1, 2, 3):
        taken = claim(ledger)
        assert taken is not None
        assert taken.attempt == attempt
        assert ledger.mark_failed(taken, f"timeout #{attempt}")

    [row] = ledger.failed_for("weekly", WEEK[0])
    assert (row.attempts, row.last_error) == (3, "timeout #3")


def test_a_sending_claim_is_not_reclaimable_until_it_is_stale(url: str, clock: FakeClock) -> None:
    with Ledger(url, clock=clock, stale_after=timedelta(minutes=15)) as ledger:
        first = claim(ledger)
        clock.advance(timedelta(minutes=14, seconds=59))
        assert claim(ledger) is None

        clock.advance(timedelta(seconds=1))
        taken_over = claim(ledger)

    assert first is not None
    assert taken_over is not None
    assert (taken_over.id, taken_over.attempt) == (first.id, 2)
    assert taken_over.previous_status == "sending"


def test_a_stale_claimer_cannot_mark_after_a_takeover(
    url: str, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    with Ledger(url, clock=clock) as slow, Ledger(url, clock=clock) as other:
        stale = claim(slow)
        clock.advance(timedelta(minutes=16))
        fresh = claim(other)
        assert stale is not None
        assert fresh is not None

        with caplog.at_level(logging.WARNING, logger="reportbot.ledger.store"):
            assert slow.mark_sent(stale, "ts-slow") is False
            assert slow.mark_failed(stale, "late") is False
        assert other.mark_sent(fresh, "ts-fresh") is True
        [row] = other.history()

    assert (row.status, row.receipt, row.last_error) == ("sent", "ts-fresh", None)
    assert "another process took the claim over" in caplog.text


def test_a_claim_is_marked_only_once(ledger: Ledger) -> None:
    taken = claim(ledger)
    assert taken is not None
    assert ledger.mark_sent(taken, "ts")

    assert ledger.mark_failed(taken, "too late") is False
    assert ledger.status("weekly", WEEK[0]) == {"slack:#costs": "sent"}


# Reading


def test_history_lists_the_newest_first_and_filters_by_report(
    ledger: Ledger, clock: FakeClock
) -> None:
    for report, destination in [("weekly", "a"), ("monthly", "b"), ("weekly", "c")]:
        clock.advance(timedelta(minutes=1))
        taken = claim(ledger, destination, report=report)
        assert taken is not None
        ledger.mark_sent(taken, f"ts-{destination}")

    assert [row.destination for row in ledger.history()] == ["c", "b", "a"]
    assert [row.destination for row in ledger.history("weekly")] == ["c", "a"]
    assert [row.destination for row in ledger.history(limit=1)] == ["c"]


def test_status_failed_for_and_last_delivery_describe_one_period(ledger: Ledger) -> None:
    sent, failed, sending = (claim(ledger, name) for name in ("slack:#a", "email:b", "slack:#c"))
    assert sent is not None
    assert failed is not None
    assert sending is not None
    ledger.mark_sent(sent, "ts")
    ledger.mark_failed(failed, "550 mailbox unavailable")

    assert ledger.status("weekly", WEEK[0]) == {
        "email:b": "failed",
        "slack:#a": "sent",
        "slack:#c": "sending",
    }
    assert [row.destination for row in ledger.failed_for("weekly", WEEK[0])] == ["email:b"]
    last = ledger.last_delivery("weekly")
    assert last is not None
    assert last.destination == "slack:#a"
    assert ledger.last_delivery("monthly") is None


def test_timestamps_come_from_the_clock_and_read_back_in_utc(
    ledger: Ledger, clock: FakeClock
) -> None:
    taken = claim(ledger)
    assert taken is not None
    clock.advance(timedelta(seconds=90))
    ledger.mark_sent(taken, "ts")

    [row] = ledger.history()

    assert (row.created_at, row.updated_at) == (T0, T0 + timedelta(seconds=90))
    assert row.updated_at.tzinfo == UTC


# Schema versions


def test_the_schema_table_records_each_version_and_reopening_applies_nothing(url: str) -> None:
    Ledger(url).close()
    recorded = schema_rows(url)
    Ledger(url).close()

    assert [(version, name) for version, name, _ in recorded] == [
        (1, "create_deliveries"),
        (2, "add_report_history_index"),
        (3, "add_permanent_flag"),
        (4, "add_summary"),
    ]
    assert schema_rows(url) == recorded
    engine = create_ledger_engine(url)
    assert apply_migrations(engine) == []
    engine.dispose()


def test_missing_migrations_are_applied_to_an_old_version_ledger(url: str) -> None:
    engine = create_ledger_engine(url)
    assert apply_migrations(engine, MIGRATIONS[:1]) == ["create_deliveries"]

    Ledger(url).close()

    assert [row[0] for row in schema_rows(url)] == [1, 2, 3, 4]
    indexes = {index["name"] for index in sa.inspect(engine).get_indexes("deliveries")}
    assert "ix_deliveries_report_updated" in indexes
    columns = {column["name"] for column in sa.inspect(engine).get_columns("deliveries")}
    assert "permanent" in columns
    engine.dispose()


def test_a_ledger_from_a_newer_reportbot_is_refused(url: str) -> None:
    Ledger(url).close()
    engine = create_ledger_engine(url)
    with engine.begin() as conn:
        conn.execute(
            sa.text("INSERT INTO reportbot_schema VALUES (99, 'future', :now)"), {"now": T0}
        )
    engine.dispose()

    with pytest.raises(LedgerError, match="schema version 99, newer than this reportbot"):
        Ledger(url)


# URLs and errors


@pytest.mark.parametrize(
    ("given_url", "expected"),
    [
        ("postgres://bot@db.internal/reports", "postgresql+psycopg://bot@db.internal/reports"),
        ("postgresql://bot:pw@db:5433/reports", "postgresql+psycopg://bot:pw@db:5433/reports"),
        ("postgresql+psycopg://bot@db/reports", "postgresql+psycopg://bot@db/reports"),
        ("sqlite:///reportbot.db", "sqlite:///reportbot.db"),
        ("sqlite:////var/lib/reportbot/ledger.db", "sqlite:////var/lib/reportbot/ledger.db"),
        ("sqlite+pysqlite:///ledger.db", "sqlite:///ledger.db"),
    ],
)
def test_ledger_urls_are_normalized(given_url: str, expected: str) -> None:
    assert normalize_database_url(given_url) == expected


@pytest.mark.parametrize(
    ("bad_url", "says"),
    [
        ("mysql://bot:hunter2@db/reports", "unsupported ledger URL scheme 'mysql'"),
        ("postgresql+psycopg2://bot:hunter2@db/reports", "unsupported ledger URL scheme"),
        ("not a url", "cannot parse the ledger URL"),
        ("postgres://bot:hunter2@db:port/reports", "cannot parse the ledger URL"),
        ("sqlite://", "names no file"),
        ("sqlite:///:memory:", "names no file"),
    ],
)
def test_a_bad_url_is_a_one_line_config_error_without_the_password(bad_url: str, says: str) -> None:
    with pytest.raises(ConfigError, match=says) as raised:
        Ledger(bad_url)

    message = str(raised.value)
    assert "hunter2" not in message
    assert "\n" not in message


@given(password=st.text(min_size=1), encode=st.booleans())
def test_a_masked_url_never_shows_the_password(password: str, encode: bool) -> None:
    template = "postgres://reportbot:{}@db.example.com:5432/ledger?sslmode=require"
    assume(password not in template and password not in "***")
    url = template.format(quote(password, safe="") if encode else password)

    masked = mask_database_url(url)

    assert password not in masked
    assert quote(password, safe="") not in masked


def test_a_password_in_the_query_string_is_masked() -> None:
    masked = mask_database_url("postgresql://bot@db/reports?password=hunter2&sslpassword=x2")

    assert "hunter2" not in masked
    assert "x2" not in masked


def test_an_unreachable_postgres_is_a_ledger_error_without_the_password() -> None:
    with pytest.raises(LedgerError) as raised:
        Ledger("postgresql://reportbot:hunter2@127.0.0.1:1/reports")

    message = str(raised.value)
    assert message.startswith("cannot open the delivery ledger at postgresql://reportbot:***@")
    assert "hunter2" not in message
    assert "\n" not in message


def test_an_unopenable_sqlite_file_is_a_ledger_error(tmp_path: Path) -> None:
    missing = tmp_path / "no" / "such" / "dir" / "ledger.db"

    with pytest.raises(LedgerError, match="cannot open the delivery ledger at sqlite:///"):
        Ledger(f"sqlite:///{missing}")


# Concurrency: of eight racers exactly one claims, first by INSERT, then by UPDATE


def race(ledger: Ledger, round_no: int, barrier: Any) -> tuple[bool, bool]:
    """Race for a new row; the winner marks it failed; race again to reclaim it."""
    destination = f"slack:#race-{round_no}"
    try:
        barrier.wait()
        first = claim(ledger, destination)
        barrier.wait()  # everyone has tried before the row changes again
        if first is not None:
            ledger.mark_failed(first, "boom")
        barrier.wait()
        return first is not None, claim(ledger, destination) is not None
    except BaseException:
        barrier.abort()  # release the other racers now rather than at the timeout
        raise


def assert_one_winner_per_round(outcomes: list[tuple[int, bool, bool]]) -> None:
    assert len(outcomes) == RACERS * ROUNDS
    for round_no in range(ROUNDS):
        this_round = [(first, second) for n, first, second in outcomes if n == round_no]
        assert sum(first for first, _ in this_round) == 1, f"round {round_no}: insert race"
        assert sum(second for _, second in this_round) == 1, f"round {round_no}: update race"


def test_exactly_one_of_eight_threads_gets_each_claim(url: str) -> None:
    barrier = threading.Barrier(RACERS, timeout=RACE_TIMEOUT)
    outcomes = []
    with Ledger(url) as ledger, ThreadPoolExecutor(RACERS) as pool:
        for round_no in range(ROUNDS):
            racer = functools.partial(race, ledger, round_no, barrier)
            jobs = [pool.submit(racer) for _ in range(RACERS)]
            outcomes += [(round_no, *job.result(timeout=RACE_TIMEOUT)) for job in jobs]

    assert_one_winner_per_round(outcomes)


def race_in_process(url: str, barrier: Any, results: Any) -> None:
    try:
        barrier.wait()  # all open the fresh ledger at once, so migrations race too
        with Ledger(url) as ledger:
            for round_no in range(ROUNDS):
                results.put((round_no, *race(ledger, round_no, barrier)))
    except BaseException as exc:
        barrier.abort()
        results.put(("error", f"{type(exc).__name__}: {exc}", False))
        raise


def collect(results: Any) -> list[tuple[int, bool, bool]]:
    outcomes: list[tuple[int, bool, bool]] = []
    while len(outcomes) < RACERS * ROUNDS:
        outcome = results.get(timeout=RACE_TIMEOUT)
        assert outcome[0] != "error", f"a racing process failed: {outcome[1]}"
        outcomes.append(outcome)
    return outcomes


@pytest.mark.slow
def test_exactly_one_of_eight_processes_gets_each_claim(url: str) -> None:
    spawn = multiprocessing.get_context("spawn")
    barrier = spawn.Barrier(RACERS, timeout=RACE_TIMEOUT)
    results = spawn.Queue()
    args = (url, barrier, results)
    racers = [spawn.Process(target=race_in_process, args=args) for _ in range(RACERS)]
    for process in racers:
        process.start()
    try:
        outcomes = collect(results)
    finally:
        for process in racers:
            process.join(timeout=RACE_TIMEOUT)
            if process.is_alive():
                process.kill()

    assert [process.exitcode for process in racers] == [0] * RACERS
    assert_one_winner_per_round(outcomes)


def test_a_claim_kept_alive_is_never_taken_over_however_long_the_send(tmp_path: Path) -> None:
    import time as clock

    key = ("weekly", "2024-W33", date(2024, 8, 12), date(2024, 8, 18), "slack:#x")
    url = f"sqlite:///{tmp_path / 'l.db'}"
    with Ledger(url, stale_after=timedelta(seconds=0.4)) as ledger:
        claim = ledger.claim(*key)
        assert claim is not None
        with ledger.keep_alive(claim, every=0.05):
            clock.sleep(1.0)  # a send waiting out a rate limit, well past the claim timeout
            assert ledger.claim(*key) is None  # still renewed: nobody else may take it
        clock.sleep(0.6)
        assert ledger.claim(*key) is not None  # no longer renewed: stale, claimable again
