"""Ledger database URLs for tests: a SQLite file, or a fresh PostgreSQL database.

PostgreSQL variants need ``REPORTBOT_TEST_POSTGRES_URL`` (a server URL whose user may
CREATE DATABASE; tests/conftest.py defaults it to the local server) and are skipped when it
is unset or unreachable (CI turns such a skip into a failure). Each gets its own uniquely
named database, dropped afterwards, so tests never see each other's rows, even when run
concurrently.

Parametrize a test over both backends with the ``ledger_url`` fixture, made visible by
``pytest_plugins = ["tests.fakes.databases"]`` in the root conftest.py, or build your own::

    @pytest.fixture(params=LEDGER_BACKENDS)
    def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
        with ledger_database(request.param, tmp_path) as url:
            yield url
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from reportbot.ledger.schema import normalize_database_url

POSTGRES_ENV = "REPORTBOT_TEST_POSTGRES_URL"
LEDGER_BACKENDS = ("sqlite", pytest.param("postgres", marks=pytest.mark.postgres))


def sqlite_url(tmp_path: Path) -> str:
    """A ledger URL for a SQLite file inside ``tmp_path`` (created on first open)."""
    return f"sqlite:///{tmp_path / 'ledger.db'}"


def postgres_server_url() -> str:
    """The server from REPORTBOT_TEST_POSTGRES_URL, or skip the test."""
    url = os.environ.get(POSTGRES_ENV, "").strip()
    if not url:
        pytest.skip(f"{POSTGRES_ENV} is not set; set it to a PostgreSQL URL to run this variant")
    return normalize_database_url(url)


@contextmanager
def postgres_database() -> Iterator[str]:
    """Yield the URL of a fresh, uniquely named PostgreSQL database; drop it afterwards."""
    server = make_url(postgres_server_url())
    name = f"reportbot_test_{os.getpid()}_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(
        server,
        isolation_level="AUTOCOMMIT",
        poolclass=NullPool,
        connect_args={"connect_timeout": 5},
    )
    try:
        try:
            _execute(admin, f'CREATE DATABASE "{name}" TEMPLATE template0')
        except sa.exc.OperationalError as exc:
            pytest.skip(f"PostgreSQL at {server.render_as_string()} is unreachable: {exc.orig}")
        try:
            yield server.set(database=name).render_as_string(hide_password=False)
        finally:
            _execute(admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        admin.dispose()


@contextmanager
def ledger_database(backend: str, tmp_path: Path) -> Iterator[str]:
    """Yield a ledger URL for ``backend`` ("sqlite" or "postgres")."""
    if backend == "sqlite":
        yield sqlite_url(tmp_path)
    elif backend == "postgres":
        with postgres_database() as url:
            yield url
    else:
        raise ValueError(f"unknown ledger backend {backend!r}")


@pytest.fixture(params=LEDGER_BACKENDS)
def ledger_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh ledger URL, once for SQLite and once for PostgreSQL."""
    with ledger_database(request.param, tmp_path) as url:
        yield url


def _execute(engine: sa.Engine, statement: str) -> None:
    with engine.connect() as conn:
        conn.exec_driver_sql(statement)
