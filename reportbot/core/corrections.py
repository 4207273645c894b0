"""Corrections: what a sent report said, against what the same period adds up to now.

Pure: a ``Said`` is read back from the ledger (``said_of`` wrote it when the report went
out); ``correction`` compares it with a freshly computed ``Report`` of the same period.

Rule: a correction is due when |now − said| > ``threshold`` × said (default 0.5%), or
when the report said 0 and the period now has any usage. The sentence names the APIs that
explain the change, by the same rule as "why it moved" (reportbot.core.insights).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from reportbot.core.insights import Change, explain_lines
from reportbot.core.report import ApiLine, Report

ZERO = Decimal(0)


@dataclass(frozen=True)
class Said:
    """The figures a delivery carried: the period total and each API's total."""

    total: Decimal
    apis: dict[str, tuple[str, Decimal]]  # api id -> (name, credits)

    def to_json(self) -> str:
        apis = {key: [name, str(amount)] for key, (name, amount) in sorted(self.apis.items())}
        return json.dumps({"total": str(self.total), "apis": apis}, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str | None) -> Said | None:
        """The figures stored in the ledger; None for a row from before they were kept."""
        if not text:
            return None
        try:
            data = json.loads(text)
            apis = {str(k): (str(v[0]), Decimal(str(v[1]))) for k, v in data["apis"].items()}
            return cls(Decimal(str(data["total"])), apis)
        except (ValueError, KeyError, TypeError, IndexError, InvalidOperation):
            return None

    @property
    def digest(self) -> str:
        """A short name for these figures: a correction is sent once per figures said."""
        return hashlib.sha256(self.to_json().encode()).hexdigest()[:10]


def said_of(report: Report) -> Said:
    apis = {line.api_id: (line.name, line.total) for line in report.apis if line.total}
    return Said(report.total, apis)


@dataclass(frozen=True)
class Correction:
    was: Said
    now: Report
    change: Change

    @property
    def now_said(self) -> Said:
        return said_of(self.now)


def correction(was: Said, now: Report, threshold: Decimal) -> Correction | None:
    """The correction due for a period that was reported as ``was``, or None."""
    moved = now.total - was.total
    if moved == 0:
        return None
    if was.total != 0 and abs(moved) <= threshold * abs(was.total):
        return None
    lines = [
        ApiLine(
            api_id=api_id,
            name=name,
            total=total,
            previous=was.apis.get(api_id, ("", ZERO))[1],
            daily=(),
            share=ZERO,
        )
        for api_id, (name, total) in _now_and_then(was, now).items()
    ]
    return Correction(was, now, explain_lines(lines, was.total))


def _now_and_then(was: Said, now: Report) -> dict[str, tuple[str, Decimal]]:
    """Every API of either, with its total now (0 when it is gone)."""
    current = {line.api_id: (line.name, line.total) for line in now.apis}
    for api_id, (name, _) in was.apis.items():
        current.setdefault(api_id, (name, ZERO))
    return current
