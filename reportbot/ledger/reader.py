"""The ledger as ``list`` and ``history`` read it: quickly, and without changing it.

A SQLite ledger at the schema this reportbot writes is read with the standard library's
``sqlite3``, read-only: no SQLAlchemy import, no migrations, no write lock. Anything else
goes through the full :class:`~reportbot.ledger.store.Ledger` (which migrates an older
schema, refuses a newer one and words every error): a PostgreSQL URL, a SQLite URL with a
query string or escapes, a file ``sqlite3`` cannot open read-only. A SQLite file that does
not exist is no ledger yet (``None``): reading never creates one.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import quote

from reportbot.ledger.rows import Delivery

SCHEMA_VERSION = 4  # len(reportbot.ledger.schema.MIGRATIONS); a test keeps them equal
_PLAIN_SQLITE = re.compile(r"sqlite(?:\+pysqlite)?:///(?P<path>[^?#%]+)")
_COLUMNS = (
    "id, report, period, period_start, period_end, destination, status, attempts, "
    "claim_token, receipt, last_error, created_at, updated_at, permanent, summary"
)
_NEWEST_FIRST = "ORDER BY updated_at DESC, id DESC"


class LedgerView(Protocol):
    """What the read-only commands ask of a ledger (the full Ledger answers it too)."""

    def status(self, report: str, period: str) -> dict[str, str]: ...

    def history(self, report: str | None = None, limit: int = 50) -> list[Delivery]: ...

    def last_delivery(self, report: str) -> Delivery | None: ...


@contextmanager
def read_ledger(url: str) -> Iterator[LedgerView | None]:
    """The ledger at ``url`` to read, or None when its SQLite file does not exist."""
    path = plain_sqlite_path(url)
    if path is not None and not path.exists():
        yield None
        return
    reader = SqliteReader.open(path) if path is not None else None
    if reader is not None:
        with closing(reader):
            yield reader
        return
    from reportbot.ledger.schema import sqlite_path
    from reportbot.ledger.store import Ledger

    full_path = sqlite_path(url)  # a ConfigError for a URL that is not a ledger's
    if full_path is not None and not full_path.exists():
        yield None
        return
    with Ledger(url) as ledger:
        yield ledger


def plain_sqlite_path(url: str) -> Path | None:
    """The file of ``sqlite:///PATH`` when PATH needs no URL decoding, else None."""
    found = _PLAIN_SQLITE.fullmatch(url.strip())
    return Path(found["path"]) if found else None


class SqliteReader:
    """A read-only connection to a SQLite ledger at SCHEMA_VERSION."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._db = connection

    @classmethod
    def open(cls, path: Path) -> SqliteReader | None:
        """A reader, or None when the full Ledger should handle this file (see the module)."""
        uri = f"file:{quote(str(path.absolute()))}?mode=ro"
        try:
            db = sqlite3.connect(uri, uri=True, timeout=30)
        except sqlite3.Error:
            return None
        try:
            (version,) = db.execute("SELECT max(version) FROM reportbot_schema").fetchone()
        except sqlite3.Error:
            version = None
        if version != SCHEMA_VERSION:
            db.close()
            return None
        return cls(db)

    def status(self, report: str, period: str) -> dict[str, str]:
        query = (
            "SELECT destination, status FROM deliveries WHERE report = ? AND period = ? "
            "ORDER BY destination, id"
        )
        return dict(self._db.execute(query, (report, period)).fetchall())

    def history(self, report: str | None = None, limit: int = 50) -> list[Delivery]:
        where, args = ("WHERE report = ?", (report,)) if report is not None else ("", ())
        return self._rows(f"{where} {_NEWEST_FIRST} LIMIT ?", (*args, limit))

    def last_delivery(self, report: str) -> Delivery | None:
        rows = self._rows(
            f"WHERE report = ? AND status = 'sent' {_NEWEST_FIRST} LIMIT 1", (report,)
        )
        return rows[0] if rows else None

    def close(self) -> None:
        self._db.close()

    def _rows(self, clauses: str, args: tuple[object, ...]) -> list[Delivery]:
        query = f"SELECT {_COLUMNS} FROM deliveries {clauses}"  # noqa: S608 - constant clauses
        return [_delivery(row) for row in self._db.execute(query, args)]


def _delivery(row: tuple[Any, ...]) -> Delivery:
    """A row as SQLAlchemy stores it on SQLite: ISO dates, naive UTC datetimes, 0/1 flags."""
    (id_, report, period, start, end, destination, status, attempts, token) = row[:9]
    receipt, last_error, created, updated, permanent, summary = row[9:]
    return Delivery(
        id=int(id_),
        report=str(report),
        period=str(period),
        period_start=date.fromisoformat(str(start)),
        period_end=date.fromisoformat(str(end)),
        destination=str(destination),
        status=str(status),
        attempts=int(attempts),
        claim_token=str(token),
        receipt=None if receipt is None else str(receipt),
        last_error=None if last_error is None else str(last_error),
        created_at=_utc(created),
        updated_at=_utc(updated),
        permanent=None if permanent is None else bool(permanent),
        summary=None if summary is None else str(summary),
    )


def _utc(stored: object) -> datetime:
    moment = datetime.fromisoformat(str(stored))
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
