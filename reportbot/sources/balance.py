"""The account's remaining balance, from the AceData Cloud applications list.

    BalanceClient.balance()
      GET {base_url}/api/v1/applications/?limit=100&offset=0, then offset=100, …
      ├── each page: {"count": n, "items": [{"remaining_amount": …, …}, …]}
      ├── pages until ``count`` items were read (or a page comes back empty)
      └── the sum of every item's remaining_amount, in Credits, exact (Decimal)

Retries, backoff, Retry-After and the one-line errors are the usage client's
(reportbot.sources.acedata). A balance is an extra: ``read_balance`` turns any failure
(403 for some tokens, 5xx after retries, a body of the wrong shape) into "unavailable" and
one log line, so it never blocks a report.
"""

from __future__ import annotations

import json
import logging
import threading
from decimal import Decimal, InvalidOperation
from typing import Any, Protocol

import httpx

from reportbot.core.insights import UNAVAILABLE, BalanceReading
from reportbot.errors import FetchError, ReportbotError
from reportbot.sources.acedata import AGGREGATE_PATH, Params, UsageClient, aggregate_url

log = logging.getLogger("reportbot.sources.balance")

APPLICATIONS_PATH = "/api/v1/applications/"
PAGE_SIZE = 100
MAX_PAGES = 1_000
AMOUNT_DIGITS = 15  # a balance of 10**15 Credits or more is garbage


class BalanceSource(Protocol):
    def balance(self) -> Decimal: ...


def read_balance(source: BalanceSource | None) -> BalanceReading:
    """The balance, "unavailable" (logged) when the call fails, None without a source."""
    if source is None:
        return None
    try:
        return source.balance()
    except ReportbotError as exc:
        log.warning("balance unavailable: %s", exc)
        return UNAVAILABLE


class SharedBalance:
    """One reading per run, shared by every report of the account: ``run --all`` and its
    threads ask the applications list once, and a failure is logged once."""

    def __init__(self, source: BalanceSource | None) -> None:
        self._source = source
        self._lock = threading.Lock()
        self._reading: BalanceReading = None
        self._read = False

    def read(self) -> BalanceReading:
        with self._lock:
            if not self._read:
                self._reading, self._read = read_balance(self._source), True
            return self._reading


def applications_url(base_url: str) -> httpx.URL:
    """The applications list under ``base_url`` (checked like the usage endpoint's)."""
    aggregate = aggregate_url(base_url)
    base = aggregate.path[: -len(AGGREGATE_PATH)]
    return aggregate.copy_with(path=base + APPLICATIONS_PATH)


class _ApplicationsCaller(UsageClient):
    """The usage client's request loop, aimed at the applications list."""

    def __init__(self, http: httpx.Client, base_url: str, token: str, **retry: Any) -> None:
        super().__init__(http, base_url, token, **retry)
        self._url = applications_url(base_url)

    def page(self, params: Params) -> bytes:
        try:
            return self._send(params).content
        except FetchError as exc:
            raise FetchError(self._scrub(f"balance: {exc}")) from None


class BalanceClient:
    """Sums ``remaining_amount`` over every application of the account."""

    def __init__(
        self,
        http: httpx.Client,
        base_url: str,
        token: str,
        *,
        user_id: str | None = None,
        page_size: int = PAGE_SIZE,
        **retry: Any,
    ) -> None:
        self._caller = _ApplicationsCaller(http, base_url, token, **retry)
        self._user_id = user_id
        self._page_size = max(1, page_size)

    def balance(self) -> Decimal:
        total, offset = Decimal(0), 0
        for _ in range(MAX_PAGES):
            params: Params = {"limit": str(self._page_size), "offset": str(offset)}
            if self._user_id:
                params["user_id"] = self._user_id
            count, amounts = parse_page(self._caller.page(params))
            total += sum(amounts, Decimal(0))
            offset += len(amounts)
            if not amounts or offset >= count:
                log.info("balance of %d applications: %s credits", offset, total)
                return total
        raise FetchError(f"balance: the applications list did not end after {MAX_PAGES} pages")


def parse_page(body: bytes) -> tuple[int, list[Decimal]]:
    """``count`` and the items' remaining amounts of one page; a FetchError if not one."""
    try:
        payload = json.loads(body, parse_float=Decimal, parse_constant=_not_a_number)
    except (ValueError, RecursionError):
        raise _bad("it is not JSON") from None
    if not isinstance(payload, dict) or not isinstance(payload.get("items"), list):
        raise _bad("it has no 'items' list")
    count = payload.get("count")
    if isinstance(count, bool) or not isinstance(count, int) or count < 0:
        raise _bad("its 'count' is not a whole number")
    return count, [_remaining(item, n) for n, item in enumerate(payload["items"])]


def _remaining(item: object, index: int) -> Decimal:
    if not isinstance(item, dict) or "remaining_amount" not in item:
        raise _bad(f"item {index} has no 'remaining_amount'")
    value = item["remaining_amount"]
    if value is None:
        return Decimal(0)
    if isinstance(value, bool) or not isinstance(value, int | Decimal | str):
        raise _bad(f"item {index}'s remaining_amount is not a number")
    try:
        amount = Decimal(value)
    except InvalidOperation:
        raise _bad(f"item {index}'s remaining_amount is not a number") from None
    if not amount.is_finite() or amount.adjusted() >= AMOUNT_DIGITS:
        raise _bad(f"item {index}'s remaining_amount is not a plausible number")
    return amount


def _not_a_number(name: str) -> Decimal:
    raise _bad(f"it contains {name}, which is not a number")


def _bad(why: str) -> FetchError:
    return FetchError(f"balance: the applications list answered a body it cannot read: {why}")
