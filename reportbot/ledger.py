"""The delivery ledger: one row per (report, period, destination), claimed before sending.

Every delivery takes three steps::

    claim()  ──▶  send  ──▶  mark_sent(receipt)  or  mark_failed(error)

Row states::

    (none) ──claim──▶ sending ──mark_sent──▶ sent ──claim(force=True)──▶ sending
                        │   ▲
            mark_failed │   │ claim: a failed row, or a sending row older than stale_after
                        ▼   │
                       failed

``claim`` is a compare-and-swap (healthchecks' conditional update): an INSERT that loses
to a concurrent INSERT re-reads the row, and an UPDATE only matches the status and claim
token it read. Of any number of threads or processes sharing one SQLite file or one
PostgreSQL database, exactly one gets a claim. ``mark_sent`` and ``mark_failed`` match the
claim token too, so a process whose claim was taken over cannot overwrite the newer state.

At-least-once window: a process that dies (or stalls) between ``claim`` and ``mark_*``
leaves its row ``sending``. Nobody may claim it until ``stale_after`` has passed since the
claim; then it is retryable. If the message had actually left before the crash (Slack
accepted it, the SMTP server queued it), that one retry delivers it a second time. The
ledger cannot tell the two cases apart, so keep ``stale_after`` well above the longest send.

Schema versions are named functions in ``MIGRATIONS`` (as in sqlite-utils), applied on
open and recorded in ``reportbot_schema``. Applying is idempotent and safe when several
processes open a fresh database at once: it runs under ``BEGIN IMMEDIATE`` on SQLite and
a transaction-level advisory lock on PostgreSQL.

Every SQLAlchemy or driver error leaves this module as a one-line ``LedgerError``, and
no message ever contains the database password.
"""

from __future__ import annotations

import logging
import re
import secrets
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Self

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError, IntegrityError, SQLAlchemyError
from sqlalchemy.sql.elements import ColumnElement

from reportbot.errors import ConfigError, LedgerError

logger = logging.getLogger(__name__)

SENDING, SENT, FAILED = "sending", "sent", "failed"
_POSTGRES_SCHEMES = frozenset({"postgres", "postgresql", "postgresql+psycopg"})
_SQLITE_SCHEMES = frozenset({"sqlite", "sqlite+pysqlite"})
_URL_HINT = "use sqlite:///PATH or postgresql://USER:PASSWORD@HOST/DATABASE"
_SQLITE_BUSY_SECONDS = 30
_BEGIN_IMMEDIATE = "reportbot_begin_immediate"
_MIGRATION_LOCK_KEY = 0x7265706F72746274  # "reportbt": one advisory lock for all openers
_CLAIM_ROUNDS = 3
_MAX_ERROR_CHARS = 2000
_PASSWORD_IN_USERINFO = re.compile(r"(://[^:/@]*:).*@", re.DOTALL)
_PASSWORD_IN_QUERY = re.compile(r"([?&][^=&]*password[^=&]*=)[^&]*", re.IGNORECASE)


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _as_utc(moment: datetime) -> datetime:
    """Aware UTC; a naive datetime is taken to be UTC already."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


class UTCDateTime(sa.TypeDecorator[datetime]):
    """Stored as UTC (naive on SQLite, which has no zones), always read back aware UTC."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        value = _as_utc(value)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any | None, dialect: sa.Dialect) -> datetime | None:
        return None if value is None else _as_utc(value)


metadata = sa.MetaData()

deliveries = sa.Table(
    "deliveries",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("report", sa.String, nullable=False),
    sa.Column("period", sa.String, nullable=False),
    sa.Column("period_start", sa.Date, nullable=False),
    sa.Column("period_end", sa.Date, nullable=False),
    sa.Column("destination", sa.String, nullable=False),
    sa.Column("status", sa.String, nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("claim_token", sa.String, nullable=False),
    sa.Column("receipt", sa.Text),
    sa.Column("last_error", sa.Text),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.UniqueConstraint("report", "period", "destination", name="uq_deliveries_key"),
    sa.CheckConstraint("status IN ('sending', 'sent', 'failed')", name="ck_deliveries_status"),
)

schema_versions = sa.Table(
    "reportbot_schema",
    metadata,
    sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("name", sa.String, nullable=False),
    sa.Column("applied_at", UTCDateTime, nullable=False),
)


@dataclass(frozen=True, slots=True)
class Claim:
    """The right to send one (report, period, destination); pass it to mark_sent/mark_failed."""

    id: int
    report: str
    period: str
    destination: str
    token: str
    attempt: int
    previous_status: str | None

    @property
    def label(self) -> str:
        return f"{self.report} {self.period} to {self.destination}"


@dataclass(frozen=True, slots=True)
class Delivery:
    """One ledger row."""

    id: int
    report: str
    period: str
    period_start: date
    period_end: date
    destination: str
    status: str
    attempts: int
    claim_token: str
    receipt: str | None
    last_error: str | None
    created_at: datetime
    updated_at: datetime


def _delivery(row: sa.Row[Any]) -> Delivery:
    return Delivery(**row._asdict())


# Migrations: append only. Each must keep creating the shape it created when released, so
# a later change to ``deliveries`` means a frozen copy of the old Table for version 1.
Migration = Callable[[Connection], None]


def create_deliveries(conn: Connection) -> None:
    """Version 1: the deliveries table with its (report, period, destination) key."""
    deliveries.create(conn)


def add_report_history_index(conn: Connection) -> None:
    """Version 2: history(report) and last_delivery(report) read newest first."""
    conn.execute(
        sa.text("CREATE INDEX ix_deliveries_report_updated ON deliveries (report, updated_at)")
    )


MIGRATIONS: tuple[Migration, ...] = (create_deliveries, add_report_history_index)


def mask_database_url(url: str) -> str:
    """The URL as it may be shown: any password, also in the query string, becomes ***."""
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        parsed = None
    if parsed is None or url.count("@") > 1:  # unparsable or an unescaped @: mask to the last @
        masked = _PASSWORD_IN_USERINFO.sub(r"\1***@", url)
    else:
        masked = parsed.render_as_string(hide_password=True)
    return _PASSWORD_IN_QUERY.sub(r"\1***", masked)


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite ledger URL, or None for a server database."""
    parsed = make_url(normalize_database_url(url))
    return Path(parsed.database or "") if parsed.get_backend_name() == "sqlite" else None


def normalize_database_url(url: str) -> str:
    """The SQLAlchemy URL for a ledger: postgres[ql]:// -> postgresql+psycopg://, sqlite:///PATH.

    Raises ConfigError for anything else.
    """
    try:
        parsed = make_url(url.strip())
    except (ArgumentError, ValueError):
        shown = mask_database_url(url)
        raise ConfigError(f"cannot parse the ledger URL {shown!r}: {_URL_HINT}") from None
    if parsed.drivername in _POSTGRES_SCHEMES:
        return parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    if parsed.drivername not in _SQLITE_SCHEMES:
        shown = mask_database_url(url)
        raise ConfigError(
            f"unsupported ledger URL scheme {parsed.drivername!r} in {shown}: {_URL_HINT}"
        )
    if parsed.database in (None, "", ":memory:"):
        raise ConfigError(
            f"the ledger URL {mask_database_url(url)!r} names no file: use sqlite:///PATH"
        )
    return parsed.set(drivername="sqlite").render_as_string(hide_password=False)


def create_ledger_engine(url: str) -> Engine:
    """An engine for ``url`` (normalized first), set up for concurrent writers."""
    parsed = make_url(normalize_database_url(url))
    if parsed.get_backend_name() != "sqlite":
        timeout = {} if "connect_timeout" in parsed.query else {"connect_timeout": 10}
        return sa.create_engine(parsed, pool_pre_ping=True, connect_args=timeout)
    engine = sa.create_engine(parsed, connect_args={"timeout": _SQLITE_BUSY_SECONDS})
    sa.event.listen(engine, "connect", _sqlite_on_connect)
    sa.event.listen(engine, "begin", _sqlite_on_begin)
    return engine


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    # SQLAlchemy emits BEGIN itself (see _sqlite_on_begin), so sqlite3 must not.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout = {_SQLITE_BUSY_SECONDS * 1000}")
        if cursor.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
            cursor.execute("PRAGMA journal_mode = WAL")  # persistent: readers never block
    finally:
        cursor.close()


def _sqlite_on_begin(conn: Connection) -> None:
    # A writer takes the write lock up front: a deferred transaction that reads and then
    # writes can fail with SQLITE_BUSY instead of waiting for another writer.
    immediate = conn.get_execution_options().get(_BEGIN_IMMEDIATE, False)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


@contextmanager
def _transaction(engine: Engine, *, write: bool) -> Iterator[Connection]:
    with engine.connect() as conn:
        conn.execution_options(**{_BEGIN_IMMEDIATE: write})
        with conn.begin():
            yield conn


def apply_migrations(engine: Engine, migrations: Sequence[Migration] = MIGRATIONS) -> list[str]:
    """Apply the migrations the database lacks, in order; return the names applied."""
    with _transaction(engine, write=True) as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(sa.select(sa.func.pg_advisory_xact_lock(_MIGRATION_LOCK_KEY)))
        schema_versions.create(conn, checkfirst=True)
        applied = set(conn.scalars(sa.select(schema_versions.c.version)))
        _refuse_newer_schema(engine, applied, len(migrations))
        pending = [(n, m) for n, m in enumerate(migrations, start=1) if n not in applied]
        for version, migration in pending:
            migration(conn)
            row = {"version": version, "name": migration.__name__, "applied_at": _utcnow()}
            conn.execute(sa.insert(schema_versions).values(row))
    return [migration.__name__ for _, migration in pending]


def _refuse_newer_schema(engine: Engine, applied: set[int], known: int) -> None:
    if applied and max(applied) > known:
        shown = engine.url.render_as_string(hide_password=True)
        raise LedgerError(
            f"the delivery ledger at {shown} has schema version {max(applied)}, newer than "
            f"this reportbot knows ({known}); upgrade reportbot"
        )


def _one_line(exc: BaseException, secret: str | None) -> str:
    cause = getattr(exc, "orig", None) or exc
    lines = [line.strip() for line in str(cause).splitlines() if line.strip()]
    message = lines[0] if lines else type(cause).__name__
    return message.replace(secret, "***") if secret else message


class _LostRace(Exception):
    """Another claimer changed the row between our read and our write."""


@dataclass(frozen=True, slots=True)
class _Request:
    report: str
    period: str
    period_start: date
    period_end: date
    destination: str
    force: bool

    def matches(self) -> ColumnElement[bool]:
        c = deliveries.c
        return sa.and_(
            c.report == self.report, c.period == self.period, c.destination == self.destination
        )

    def claim(self, row_id: int, token: str, attempt: int, previous: str | None) -> Claim:
        return Claim(row_id, self.report, self.period, self.destination, token, attempt, previous)


class Ledger:
    """The delivery ledger in SQLite or PostgreSQL; see the module docstring."""

    def __init__(
        self,
        url: str,
        *,
        stale_after: timedelta = timedelta(minutes=15),
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        normalized = normalize_database_url(url)
        self._shown_url = mask_database_url(url)
        self._password = make_url(normalized).password
        self._stale_after = stale_after
        self._clock = clock
        with self._errors("open"):
            self._engine = create_ledger_engine(normalized)
            try:
                apply_migrations(self._engine)
            except BaseException:
                self._engine.dispose()
                raise

    def claim(
        self,
        report: str,
        period: str,
        period_start: date,
        period_end: date,
        destination: str,
        *,
        force: bool = False,
    ) -> Claim | None:
        """Take the right to send, or None when it is sent already or being sent elsewhere.

        ``force`` reclaims a sent row; it never takes a fresh ``sending`` one.
        """
        request = _Request(report, period, period_start, period_end, destination, force)
        with self._errors("write to"):
            for _ in range(_CLAIM_ROUNDS):
                try:
                    return self._claim_once(request)
                except _LostRace:
                    continue
        raise LedgerError(
            f"cannot claim {report} {period} for {destination}: the ledger row kept "
            f"changing under {_CLAIM_ROUNDS} attempts; try again"
        )

    def mark_sent(self, claim: Claim, receipt: str | None) -> bool:
        """Record the delivery as sent; False (and a warning) if the claim was taken over."""
        return self._finish(claim, {"status": SENT, "receipt": receipt, "last_error": None})

    def mark_failed(self, claim: Claim, error: str) -> bool:
        """Record the delivery as failed; False (and a warning) if the claim was taken over."""
        return self._finish(claim, {"status": FAILED, "last_error": error[:_MAX_ERROR_CHARS]})

    def status(self, report: str, period: str) -> dict[str, str]:
        """destination -> status for one report and period."""
        rows = self._select(deliveries.c.report == report, deliveries.c.period == period)
        return {row.destination: row.status for row in rows}

    def history(self, report: str | None = None, limit: int = 50) -> list[Delivery]:
        """The most recently updated rows first, of one report or of all."""
        conditions = [] if report is None else [deliveries.c.report == report]
        return self._select(*conditions, newest_first=True, limit=limit)

    def last_delivery(self, report: str) -> Delivery | None:
        """The newest ``sent`` row of a report."""
        rows = self._select(
            deliveries.c.report == report, deliveries.c.status == SENT, newest_first=True, limit=1
        )
        return rows[0] if rows else None

    def failed_for(self, report: str, period: str) -> list[Delivery]:
        """The failed destinations of one report and period, by destination."""
        return self._select(
            deliveries.c.report == report,
            deliveries.c.period == period,
            deliveries.c.status == FAILED,
        )

    def close(self) -> None:
        self._engine.dispose()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _claim_once(self, request: _Request) -> Claim | None:
        try:
            with _transaction(self._engine, write=True) as conn:
                found = conn.execute(sa.select(deliveries).where(request.matches())).first()
                if found is None:
                    return self._insert(conn, request)
                current = _delivery(found)
                if not self._claimable(current, request.force):
                    return None
                return self._take_over(conn, request, current)
        except IntegrityError as exc:  # a concurrent INSERT of the same key won
            raise _LostRace from exc

    def _claimable(self, current: Delivery, force: bool) -> bool:
        if current.status == SENDING:
            return self._now() - current.updated_at >= self._stale_after
        return current.status == FAILED or force

    def _insert(self, conn: Connection, request: _Request) -> Claim:
        now, token = self._now(), secrets.token_hex(16)
        row = {
            "report": request.report,
            "period": request.period,
            "period_start": request.period_start,
            "period_end": request.period_end,
            "destination": request.destination,
        }
        values = {"status": SENDING, "attempts": 1, "claim_token": token}
        statement = sa.insert(deliveries).values(**row, **values, created_at=now, updated_at=now)
        row_id = conn.execute(statement.returning(deliveries.c.id)).scalar_one()
        return request.claim(row_id, token, attempt=1, previous=None)

    def _take_over(self, conn: Connection, request: _Request, current: Delivery) -> Claim:
        token, attempt = secrets.token_hex(16), current.attempts + 1
        unchanged = (  # compare-and-swap: only the row exactly as we read it
            deliveries.c.id == current.id,
            deliveries.c.status == current.status,
            deliveries.c.claim_token == current.claim_token,
        )
        values = {"status": SENDING, "attempts": attempt, "claim_token": token}
        statement = sa.update(deliveries).where(*unchanged).values(**values, updated_at=self._now())
        if conn.execute(statement).rowcount != 1:
            raise _LostRace
        return request.claim(current.id, token, attempt, previous=current.status)

    def _finish(self, claim: Claim, changes: dict[str, Any]) -> bool:
        statement = (
            sa.update(deliveries)
            .where(
                deliveries.c.id == claim.id,
                deliveries.c.claim_token == claim.token,
                deliveries.c.status == SENDING,
            )
            .values(updated_at=self._now(), **changes)
        )
        with self._errors("write to"), _transaction(self._engine, write=True) as conn:
            taken_over = conn.execute(statement).rowcount != 1
        if taken_over:
            logger.warning(
                "not marking %s %s: another process took the claim over",
                claim.label,
                changes["status"],
            )
        return not taken_over

    def _select(
        self, *conditions: ColumnElement[bool], newest_first: bool = False, limit: int | None = None
    ) -> list[Delivery]:
        if newest_first:
            order = (deliveries.c.updated_at.desc(), deliveries.c.id.desc())
        else:
            order = (deliveries.c.destination.asc(), deliveries.c.id.asc())
        query = sa.select(deliveries).where(*conditions).order_by(*order).limit(limit)
        with self._errors("read"), _transaction(self._engine, write=False) as conn:
            return [_delivery(row) for row in conn.execute(query)]

    def _now(self) -> datetime:
        return _as_utc(self._clock())

    @contextmanager
    def _errors(self, action: str) -> Iterator[None]:
        try:
            yield
        except (SQLAlchemyError, sqlite3.Error) as exc:
            reason = _one_line(exc, self._password)
            message = f"cannot {action} the delivery ledger at {self._shown_url}: {reason}"
            raise LedgerError(message) from exc
