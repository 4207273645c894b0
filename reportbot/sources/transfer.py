"""One HTTP answer of the usage API, read within bounds: its size, the deadline, Retry-After."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx

from reportbot.errors import FetchError

RETRY_AFTER_CAP = 60.0
MAX_BODY_BYTES = 256 << 20  # a year of 2,000 APIs a day is ~50 MB


def read_capped(
    response: httpx.Response, ends: float, clock: Callable[[], float]
) -> httpx.Response:
    """The response, its body read; a FetchError past MAX_BODY_BYTES (decoded) or ``ends``."""
    body = bytearray()
    for chunk in response.iter_bytes():
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            raise FetchError(f"the usage API sent more than {MAX_BODY_BYTES:,} bytes: refused")
        if clock() > ends:
            raise FetchError("the usage API was still sending when the fetch's time was up")
    headers = response.headers.copy()
    for decoded in ("content-encoding", "content-length"):  # the body is decoded: bombs count
        headers.pop(decoded, None)
    return httpx.Response(
        response.status_code, headers=headers, content=bytes(body), request=response.request
    )


def retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds a ``Retry-After`` header asks to wait, capped; None if absent or unreadable."""
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        seconds = _seconds_until(value, now)
    if not math.isfinite(seconds):
        return None
    return min(RETRY_AFTER_CAP, max(0.0, seconds))


def _seconds_until(http_date: str, now: datetime) -> float:
    try:
        moment = parsedate_to_datetime(http_date)
    except (TypeError, ValueError):
        return math.nan
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return (moment - now).total_seconds()
