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

A process that dies between ``claim`` and ``mark_*`` leaves its row ``sending``. A live
sender renews its claim (``keep_alive``, every quarter of ``stale_after``), so only a row
that nobody renewed for ``stale_after`` is claimable again. The ledger alone cannot tell
whether the message left before the crash: the claim hands ``previous_status`` on, and the
destinations look for the message's idempotency key before sending it again (Slack), or
send it with the same Message-ID (email). See reportbot.delivery.loop.

Tables and migrations: reportbot.ledger.schema; row values: reportbot.ledger.rows. Every
SQLAlchemy or driver error leaves as a one-line ``LedgerError`` without the password.
"""

from __future__ import annotations

import logging
import secrets
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from datetime import date, datetime, timedelta
from typing import Any, Self

import sqlalchemy as sa
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.sql.elements import ColumnElement

from reportbot.errors import LedgerError, printable
from reportbot.ledger.leases import Leases
from reportbot.ledger.rows import Claim, ClaimRequest, Delivery
from reportbot.ledger.schema import (
    apply_migrations,
    as_utc,
    create_ledger_engine,
    deliveries,
    delivery_row,
    mask_database_url,
    normalize_database_url,
    same_key,
    transaction,
    utcnow,
)
from reportbot.logs import scrub

logger = logging.getLogger(__name__)

SENDING, SENT, FAILED = "sending", "sent", "failed"
_CLAIM_ROUNDS = 3
_MAX_ERROR_CHARS = 2000


def _one_line(exc: BaseException, secret: str | None) -> str:
    cause = getattr(exc, "orig", None) or exc
    lines = [line.strip() for line in str(cause).splitlines() if line.strip()]
    message = lines[0] if lines else type(cause).__name__
    return message.replace(secret, "***") if secret else message


class _LostRace(Exception):
    """Another claimer changed the row between our read and our write."""


class Ledger(Leases):
    """The delivery ledger in SQLite or PostgreSQL; see the module docstring."""

    def __init__(
        self,
        url: str,
        *,
        stale_after: timedelta = timedelta(minutes=15),
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        normalized = normalize_database_url(url)
        self._shown_url = mask_database_url(url)
        self._password = make_url(normalized).password
        self._stale_after = stale_after
        self._clock = clock
        with self._errors("open"):
            self._engine = create_ledger_engine(normalized)
            # SQLite lets one writer in and makes the others sleep and retry (1, 2, 5, 10 …
            # ms): this process's threads queue here instead, let in as the one before commits.
            sqlite = self._engine.dialect.name == "sqlite"
            self._one_writer: threading.Lock | None = threading.Lock() if sqlite else None
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
        request = ClaimRequest(report, period, period_start, period_end, destination, force)
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

    def mark_sent(self, claim: Claim, receipt: str | None, *, summary: str | None = None) -> bool:
        """Record the delivery as sent (and what it said); False if the claim was taken over."""
        changes = {"status": SENT, "receipt": receipt, "last_error": None, "permanent": None}
        changes["summary"] = summary
        return self._finish(claim, changes)

    def renew(self, claim: Claim) -> bool:
        """Keep a claim fresh while its send runs; False if it was taken over."""
        return self._finish(claim, {"status": SENDING}, quiet=True)

    def mark_failed(
        self, claim: Claim, error: str, *, progress: str | None = None, permanent: bool = False
    ) -> bool:
        """Record the delivery as failed; False (and a warning) if the claim was taken over.

        ``progress`` (kept as the receipt) records how far a partial send got, so that the
        next claim can resume instead of sending again what already arrived. ``permanent``:
        the failure needs the user (the worker retries it slowly).
        """
        changes: dict[str, Any] = {
            "status": FAILED,
            "last_error": printable(scrub(error), _MAX_ERROR_CHARS),
            "permanent": permanent,
        }
        if progress is not None:
            changes["receipt"] = progress
        return self._finish(claim, changes)

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

    def sent_like(self, report: str, period_prefix: str) -> list[Delivery]:
        """The sent rows of a report whose period starts with ``period_prefix``, oldest first."""
        rows = self._select(
            deliveries.c.report == report,
            deliveries.c.period.startswith(period_prefix, autoescape=True),
            deliveries.c.status == SENT,
        )
        return sorted(rows, key=lambda row: (row.updated_at, row.id))

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

    def _claim_once(self, request: ClaimRequest) -> Claim | None:
        try:
            with self._writing(), transaction(self._engine, write=True) as conn:
                found = conn.execute(sa.select(deliveries).where(*same_key(request))).first()
                if found is None:
                    return self._insert(conn, request)
                current = delivery_row(found)
                if not self._claimable(current, request.force):
                    return None
                return self._take_over(conn, request, current)
        except IntegrityError as exc:  # a concurrent INSERT of the same key won
            raise _LostRace from exc

    def _claimable(self, current: Delivery, force: bool) -> bool:
        if current.status == SENDING:
            return self._now() - current.updated_at >= self._stale_after
        return current.status == FAILED or force

    def _insert(self, conn: Connection, request: ClaimRequest) -> Claim:
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
        return request.claim(row_id, token, attempt=1)

    def _take_over(self, conn: Connection, request: ClaimRequest, current: Delivery) -> Claim:
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
        return request.claim(current.id, token, attempt, previous=current)

    def _finish(self, claim: Claim, changes: dict[str, Any], *, quiet: bool = False) -> bool:
        statement = (
            sa.update(deliveries)
            .where(
                deliveries.c.id == claim.id,
                deliveries.c.claim_token == claim.token,
                deliveries.c.status == SENDING,
            )
            .values(updated_at=self._now(), **changes)
        )
        writing = self._writing()
        with self._errors("write to"), writing, transaction(self._engine, write=True) as conn:
            taken_over = conn.execute(statement).rowcount != 1
        if taken_over and not quiet:
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
        with self._errors("read"), transaction(self._engine, write=False) as conn:
            return [delivery_row(row) for row in conn.execute(query)]

    def _now(self) -> datetime:
        return as_utc(self._clock())

    def _writing(self) -> AbstractContextManager[object]:
        return self._one_writer or nullcontext()

    @contextmanager
    def _errors(self, action: str) -> Iterator[None]:
        try:
            yield
        except (SQLAlchemyError, sqlite3.Error) as exc:
            reason = _one_line(exc, self._password)
            message = f"cannot {action} the delivery ledger at {self._shown_url}: {reason}"
            raise LedgerError(message) from exc
