"""The read-only ledger of ``list`` and ``history`` answers what the full Ledger answers."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from reportbot.errors import LedgerError
from reportbot.ledger.reader import SCHEMA_VERSION, SqliteReader, plain_sqlite_path, read_ledger
from reportbot.ledger.schema import MIGRATIONS, apply_migrations, create_ledger_engine, sqlite_path
from reportbot.ledger.store import Ledger
from tests.conftest import subprocess_env
from tests.fakes.databases import ledger_database

T0 = datetime(2024, 8, 19, 9, 0, 0, 123456, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=7)
        return self.now


def fill(url: str) -> None:
    """Rows of every kind: sent with a summary, failed (permanent or not), skipped, sending."""
    with Ledger(url, clock=Clock()) as ledger:
        for n, report in enumerate(("weekly", "monthly", "weekly", "weekly")):
            period = f"2024-W{30 + n}"
            start = date(2024, 7, 22) + timedelta(weeks=n)
            for destination in ("slack:#b", "slack:#a", "email:x@example.com"):
                claim = ledger.claim(report, period, start, start + timedelta(days=6), destination)
                assert claim is not None
                if destination == "slack:#a":
                    ledger.mark_failed(claim, f"refused {n}\nsecond line", permanent=n % 2 == 0)
                elif destination == "email:x@example.com" and n == 3:
                    continue  # left "sending"
                elif n == 1:
                    ledger.mark_sent(claim, "skipped: nothing was used")
                else:
                    ledger.mark_sent(claim, f"1700000000.{n:06d}", summary='{"total": "1.5"}')


@pytest.fixture
def url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    fill(url)
    return url


def test_the_schema_version_read_is_the_one_written() -> None:
    assert len(MIGRATIONS) == SCHEMA_VERSION


def test_a_sqlite_ledger_is_read_without_sqlalchemy_and_answers_as_the_ledger(url: str) -> None:
    path = plain_sqlite_path(url)
    assert path is not None
    reader = SqliteReader.open(path)
    assert reader is not None
    with Ledger(url) as ledger:
        for report in ("weekly", "monthly", "nobody"):
            assert reader.last_delivery(report) == ledger.last_delivery(report)
            assert reader.history(report, limit=50) == ledger.history(report, limit=50)
            for period in ("2024-W30", "2024-W31", "2024-W33", "2024-W99"):
                assert reader.status(report, period) == ledger.status(report, period)
        for limit in (1, 3, 100):
            assert reader.history(None, limit=limit) == ledger.history(None, limit=limit)
    assert reader.history(None, limit=100)[0].updated_at.tzinfo is UTC
    reader.close()


def test_reading_changes_nothing_and_never_creates_a_ledger(url: str, tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    before = path.read_bytes()
    with read_ledger(url) as view:
        assert isinstance(view, SqliteReader)
        assert view.history()
    assert path.read_bytes() == before
    with read_ledger(f"sqlite:///{tmp_path / 'absent.db'}") as view:
        assert view is None
    assert not (tmp_path / "absent.db").exists()


def test_an_older_schema_is_read_through_the_ledger_which_migrates_it(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = create_ledger_engine(url)
    apply_migrations(engine, MIGRATIONS[:2])  # before the permanent flag and the summary
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO deliveries (report, period, period_start, period_end, destination,"
                " status, attempts, claim_token, receipt, created_at, updated_at) VALUES ('w',"
                " '2024-W33', '2024-08-12', '2024-08-18', 'slack:#a', 'sent', 1, 't', '1.2',"
                " '2024-08-19 09:00:00.000000', '2024-08-19 09:00:00.000000')"
            )
        )
    engine.dispose()
    assert SqliteReader.open(tmp_path / "old.db") is None
    with read_ledger(url) as view:
        assert isinstance(view, Ledger)
        (row,) = view.history()
    assert (row.report, row.status, row.summary) == ("w", "sent", None)


def test_a_file_that_is_not_a_ledger_gets_the_ledgers_error(tmp_path: Path) -> None:
    (tmp_path / "junk.db").write_bytes(b"not a database at all" * 100)
    assert SqliteReader.open(tmp_path / "junk.db") is None
    junk = read_ledger(f"sqlite:///{tmp_path / 'junk.db'}")
    with pytest.raises(LedgerError, match="cannot open the delivery ledger"), junk:
        pass


@pytest.mark.parametrize(
    "url",
    [
        "sqlite:///relative/ledger.db",
        "sqlite:////abs/ledger.db",
        "sqlite+pysqlite:///x.db",
        "  sqlite:///spaced.db  ",
        "sqlite:///a@b:c.db",
        "sqlite:///with%20escape.db",
        "sqlite:///x.db?mode=ro",
        "postgresql://u:p@localhost/db",
    ],
)
def test_the_fast_path_takes_only_urls_it_reads_exactly_as_sqlalchemy(url: str) -> None:
    plain = plain_sqlite_path(url)
    if plain is not None:
        assert plain == sqlite_path(url)
    else:
        assert "%" in url or "?" in url or sqlite_path(url) is None


@pytest.mark.postgres
def test_a_postgresql_ledger_is_read_through_the_ledger(tmp_path: Path) -> None:
    with ledger_database("postgres", tmp_path) as url:
        fill(url)
        with read_ledger(url) as view, Ledger(url) as ledger:
            assert isinstance(view, Ledger)
            assert view.history(None, limit=100) == ledger.history(None, limit=100)
            assert len(view.history(None, limit=100)) == 12


@pytest.fixture
def listed(tmp_path: Path) -> Iterator[Path]:
    (tmp_path / "reportbot.toml").write_text(
        '[[reports]]\nname = "weekly"\nslack = ["#a"]\n', encoding="utf-8"
    )
    fill(f"sqlite:///{tmp_path / 'reportbot.db'}")
    yield tmp_path


@pytest.mark.parametrize("command", ["list", "history"])
def test_list_and_history_load_neither_sqlalchemy_nor_pydantic_settings_nor_apscheduler(
    command: str, listed: Path
) -> None:
    probe = (
        f"import sys; sys.argv = ['reportbot', '{command}']\n"
        "from reportbot.cli.main import main\n"
        "try:\n    main()\nexcept SystemExit as exit:\n    assert not exit.code, exit.code\n"
        "heavy = ('sqlalchemy', 'pydantic_settings', 'apscheduler', 'jinja2', 'httpx')\n"
        "print(sorted(m for m in heavy if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=listed,
        env=subprocess_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    *shown, loaded = result.stdout.strip().splitlines()
    assert loaded == "[]", result.stdout + result.stderr
    assert "weekly" in "\n".join(shown)


def test_a_ledger_being_written_is_read_as_committed(url: str, tmp_path: Path) -> None:
    writer = sqlite3.connect(tmp_path / "ledger.db", isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    writer.execute("UPDATE deliveries SET status = 'failed'")  # not committed
    with read_ledger(url) as view:
        assert view is not None
        assert {row.status for row in view.history(None, limit=100)} == {
            "sent",
            "failed",
            "sending",
        }
        assert view.last_delivery("weekly") is not None
    writer.execute("ROLLBACK")
    writer.close()
