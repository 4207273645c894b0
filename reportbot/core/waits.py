"""How long to wait before trying again: ``Retry-After`` in any of its forms, always capped.

Pure: the clock reading is passed in.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

RETRY_AFTER_CAP = 60.0  # no server makes a run wait longer than this at once


def retry_after(value: str | None, now: datetime, cap: float = RETRY_AFTER_CAP) -> float | None:
    """Seconds a ``Retry-After`` header asks to wait, within 0..cap; None if absent or unreadable.

    Accepts delay-seconds (also ``1.5``), an HTTP date, and clamps negative values to 0.
    """
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        seconds = _seconds_until(value, now)
    if not math.isfinite(seconds):
        return None
    return min(cap, max(0.0, seconds))


def _seconds_until(http_date: str, now: datetime) -> float:
    try:
        moment = parsedate_to_datetime(http_date)
    except (TypeError, ValueError, IndexError):
        return math.nan
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return (moment - now).total_seconds()
