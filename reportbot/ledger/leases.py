"""Leases on the ledger: a claim kept alive while it is sent, a run held by one replica.

Mixed into reportbot.ledger.store.Ledger, whose engine, settings and errors they use.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from reportbot.errors import LedgerError
from reportbot.ledger.rows import Claim

logger = logging.getLogger("reportbot.ledger.store")


def lease_key(report: str, period: str) -> int:
    """A signed 64-bit advisory lock key for one (report, period)."""
    digest = hashlib.sha256(f"reportbot-run\x1f{report}\x1f{period}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


class Leases:
    _engine: Engine
    _stale_after: timedelta
    _errors: Callable[[str], AbstractContextManager[None]]

    def renew(self, claim: Claim) -> bool:
        raise NotImplementedError

    @contextmanager
    def keep_alive(self, claim: Claim, every: float | None = None) -> Iterator[None]:
        """Renew ``claim`` every ``every`` seconds (a quarter of the claim timeout) meanwhile.

        So a send that waits (rate limits, a slow server) is never taken for a dead one and
        taken over by another process; only a process that stopped renewing loses its claim.
        """
        interval = every if every is not None else self._stale_after.total_seconds() / 4
        stop = threading.Event()

        def renew() -> None:
            while not stop.wait(interval):
                try:
                    if not self.renew(claim):
                        return
                except LedgerError as exc:
                    logger.warning("cannot renew the claim on %s: %s", claim.label, exc)

        thread = threading.Thread(target=renew, name=f"renew-{claim.id}", daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join()

    @contextmanager
    def run_lease(self, report: str, period: str) -> Iterator[bool]:
        """Whether this process may run (report, period) now: one replica at a time.

        PostgreSQL: a session advisory lock on its own connection, held while the run
        lasts, released by the server when the process dies (so another replica can take
        the work over at once; the ledger's claims then decide what is left to send).
        SQLite: always yes (``serve`` allows one worker per SQLite ledger).
        """
        if self._engine.dialect.name != "postgresql":
            yield True
            return
        key = lease_key(report, period)
        with self._errors("lock a run in"), self._engine.connect() as conn:
            got = bool(conn.execute(sa.select(sa.func.pg_try_advisory_lock(key))).scalar())
            conn.commit()
            try:
                yield got
            finally:
                if got:
                    conn.execute(sa.select(sa.func.pg_advisory_unlock(key)))
                    conn.commit()
