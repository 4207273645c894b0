"""One HTTP answer of the usage API, read within bounds: its size, the deadline, Retry-After."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from reportbot.core.waits import RETRY_AFTER_CAP, retry_after
from reportbot.errors import FetchError

__all__ = ["RETRY_AFTER_CAP", "retry_after"]

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
