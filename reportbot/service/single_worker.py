"""One ``serve`` per SQLite ledger: a second one on the same file says so and exits 2.

SQLite has no advisory locks shared between hosts, and two workers on one file would each
run every job; several replicas need PostgreSQL (their leases are advisory locks there).
The lock is ``flock`` on ``<ledger>.serve.lock`` beside the file, dropped by the kernel
when the process ends, however it ends.
"""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager

from reportbot.errors import ConfigError
from reportbot.ledger.schema import sqlite_path


@contextmanager
def one_worker_per_sqlite_ledger(url: str) -> Iterator[None]:
    path = sqlite_path(url)
    if path is None:
        yield
        return
    lock_path = path.with_name(path.name + ".serve.lock")
    with open(lock_path, "a+", encoding="utf-8") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ConfigError(
                f"another reportbot serve already uses the ledger {path}: run one worker per "
                "SQLite ledger, or point REPORTBOT_DATABASE_URL at PostgreSQL for several"
            ) from None
        yield
