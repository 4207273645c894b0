"""A run's threads share one SQLite ledger: their writes queue in the process, not in SQLite.

SQLite lets one writer in at a time and makes the others sleep and retry (1, 2, 5, 10 …
ms); eight reports claiming at once used to wait up to a tenth of a second for a lock
that was free after one. Here SQLite is told not to wait at all: any write of this
process that met another one inside SQLite would fail with "database is locked".
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from reportbot.ledger.store import Ledger

THREADS, ROUNDS = 8, 15


def impatient(ledger: Ledger) -> Ledger:
    """``ledger`` with SQLite's busy timeout at zero on every connection from now on."""

    def no_waiting(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.execute("PRAGMA busy_timeout = 0")

    engine = ledger._engine  # the test decides what SQLite may wait
    engine.dispose()
    sa.event.listen(engine, "connect", no_waiting)
    return ledger


def test_concurrent_claims_and_marks_of_one_process_never_meet_inside_sqlite(
    tmp_path: Path,
) -> None:
    ledger = impatient(Ledger(f"sqlite:///{tmp_path / 'ledger.db'}"))
    start = threading.Barrier(THREADS, timeout=30)

    def deliver(thread: int) -> int:
        sent = 0
        try:
            for n in range(ROUNDS):
                start.wait()  # all threads write at once, round after round
                claim = ledger.claim(
                    f"r{thread}-{n}", "2024-W33", date(2024, 8, 12), date(2024, 8, 18), "slack:C1"
                )
                assert claim is not None
                sent += ledger.mark_sent(claim, "1724.0001")
        except BaseException:
            start.abort()  # the others stop waiting for this thread
            raise
        return sent

    with ledger, ThreadPoolExecutor(THREADS) as pool:
        sent = sum(pool.map(deliver, range(THREADS)))

        assert sent == THREADS * ROUNDS
        assert all(
            ledger.status(f"r{t}-{n}", "2024-W33") == {"slack:C1": "sent"}
            for t in range(THREADS)
            for n in range(ROUNDS)
        )
