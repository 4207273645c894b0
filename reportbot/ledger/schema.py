"""The delivery ledger's storage: URLs, engines, tables and their migrations.

Schema versions are named functions in ``MIGRATIONS`` (as in sqlite-utils), applied on
open and recorded in ``reportbot_schema``. Applying is idempotent and safe when several
processes open a fresh database at once: it runs under ``BEGIN IMMEDIATE`` on SQLite and a
transaction-level advisory lock on PostgreSQL. No message here ever shows a password.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.sql.elements import ColumnElement

from reportbot.errors import ConfigError, LedgerError
from reportbot.ledger.rows import ClaimRequest, Delivery

_POSTGRES_SCHEMES = frozenset({"postgres", "postgresql", "postgresql+psycopg"})
_SQLITE_SCHEMES = frozenset({"sqlite", "sqlite+pysqlite"})
_URL_HINT = "use sqlite:///PATH or postgresql://USER:PASSWORD@HOST/DATABASE"
_SQLITE_BUSY_SECONDS = 30
_BEGIN_IMMEDIATE = "reportbot_begin_immediate"
_MIGRATION_LOCK_KEY = 0x7265706F72746274  # "reportbt": one advisory lock for all openers
_PASSWORD_IN_USERINFO = re.compile(r"(://[^:/@]*:).*@", re.DOTALL)
_PASSWORD_IN_QUERY = re.compile(r"([?&][^=&]*password[^=&]*=)[^&]*", re.IGNORECASE)


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(moment: datetime) -> datetime:
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
        value = as_utc(value)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any | None, dialect: sa.Dialect) -> datetime | None:
        return None if value is None else as_utc(value)


metadata = sa.MetaData()


def _deliveries_table(meta: sa.MetaData, *, version: int) -> sa.Table:
    """The deliveries table as of a schema version (migrations create old shapes)."""
    added: list[sa.Column[Any]] = [sa.Column("permanent", sa.Boolean)] if version >= 3 else []
    added += [sa.Column("summary", sa.Text)] if version >= 4 else []
    return sa.Table(
        "deliveries",
        meta,
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
        *added,
        sa.UniqueConstraint("report", "period", "destination", name="uq_deliveries_key"),
        sa.CheckConstraint("status IN ('sending', 'sent', 'failed')", name="ck_deliveries_status"),
    )


deliveries = _deliveries_table(metadata, version=4)


def delivery_row(row: sa.Row[Any]) -> Delivery:
    return Delivery(**row._asdict())


def same_key(request: ClaimRequest) -> tuple[ColumnElement[bool], ...]:
    """The row a claim request is for: its (report, period, destination)."""
    c = deliveries.c
    return (
        c.report == request.report,
        c.period == request.period,
        c.destination == request.destination,
    )


schema_versions = sa.Table(
    "reportbot_schema",
    metadata,
    sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("name", sa.String, nullable=False),
    sa.Column("applied_at", UTCDateTime, nullable=False),
)


# Migrations: append only. Each must keep creating the shape it created when released
# (version 1 creates the table as it was then: see _deliveries_table).
Migration = Callable[[Connection], None]


def create_deliveries(conn: Connection) -> None:
    """Version 1: the deliveries table with its (report, period, destination) key."""
    _deliveries_table(sa.MetaData(), version=1).create(conn)


def add_report_history_index(conn: Connection) -> None:
    """Version 2: history(report) and last_delivery(report) read newest first."""
    conn.execute(
        sa.text("CREATE INDEX ix_deliveries_report_updated ON deliveries (report, updated_at)")
    )


def add_permanent_flag(conn: Connection) -> None:
    """Version 3: whether a failure needs the user (retried slowly) or not (retried soon)."""
    conn.execute(sa.text("ALTER TABLE deliveries ADD COLUMN permanent BOOLEAN"))


def add_summary(conn: Connection) -> None:
    """Version 4: what a delivery said (period total, per-API totals), for corrections."""
    conn.execute(sa.text("ALTER TABLE deliveries ADD COLUMN summary TEXT"))


MIGRATIONS: tuple[Migration, ...] = (
    create_deliveries,
    add_report_history_index,
    add_permanent_flag,
    add_summary,
)


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
def transaction(engine: Engine, *, write: bool) -> Iterator[Connection]:
    with engine.connect() as conn:
        conn.execution_options(**{_BEGIN_IMMEDIATE: write})
        with conn.begin():
            yield conn


def apply_migrations(engine: Engine, migrations: Sequence[Migration] = MIGRATIONS) -> list[str]:
    """Apply the migrations the database lacks, in order; return the names applied."""
    with transaction(engine, write=True) as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(sa.select(sa.func.pg_advisory_xact_lock(_MIGRATION_LOCK_KEY)))
        schema_versions.create(conn, checkfirst=True)
        applied = set(conn.scalars(sa.select(schema_versions.c.version)))
        _refuse_newer_schema(engine, applied, len(migrations))
        pending = [(n, m) for n, m in enumerate(migrations, start=1) if n not in applied]
        for version, migration in pending:
            migration(conn)
            row = {"version": version, "name": migration.__name__, "applied_at": utcnow()}
            conn.execute(sa.insert(schema_versions).values(row))
    return [migration.__name__ for _, migration in pending]


def _refuse_newer_schema(engine: Engine, applied: set[int], known: int) -> None:
    if applied and max(applied) > known:
        shown = engine.url.render_as_string(hide_password=True)
        raise LedgerError(
            f"the delivery ledger at {shown} has schema version {max(applied)}, newer than "
            f"this reportbot knows ({known}); upgrade reportbot"
        )
