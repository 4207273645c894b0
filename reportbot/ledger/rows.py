"""The rows of the delivery ledger as values: a Claim to send, a Delivery as recorded.

Plain values, importable without SQLAlchemy (the read-only commands use them).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime


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
    previous_receipt: str | None = None  # e.g. the progress a failed multi-message post made

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
    permanent: bool | None = None
    summary: str | None = None  # what the delivery said (reportbot.core.corrections.Said)


@dataclass(frozen=True, slots=True)
class ClaimRequest:
    report: str
    period: str
    period_start: date
    period_end: date
    destination: str
    force: bool

    def claim(
        self, row_id: int, token: str, attempt: int, previous: Delivery | None = None
    ) -> Claim:
        status, receipt = (previous.status, previous.receipt) if previous else (None, None)
        return Claim(
            row_id, self.report, self.period, self.destination, token, attempt, status, receipt
        )
