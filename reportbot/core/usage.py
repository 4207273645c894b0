"""What the usage aggregate endpoint (or the demo source) returns, parsed and typed."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import NamedTuple


class UsageRow(NamedTuple):
    """Credits one API spent on one local day (a tuple: a period has 100,000s of them)."""

    day: date
    api_id: str
    amount: Decimal


@dataclass(frozen=True, slots=True)
class Usage:
    """All rows of one request, the API names the response carried, and its own total."""

    rows: tuple[UsageRow, ...]
    api_names: dict[str, str] = field(default_factory=dict)
    reported_total: Decimal | None = None
