"""The AceData Cloud usage aggregate endpoint, read into :class:`~reportbot.usage.Usage`.

    UsageClient.fetch(start, end, zone)
      GET {base_url}/api/v1/usage/apis/aggregate/     one request: the endpoint is not paginated
      ├── transport error, 408 409 429 5xx   retried with capped exponential backoff and jitter,
      │                                      Retry-After honoured; FetchError once attempts run out
      ├── any other 3xx or 4xx               FetchError at once, saying what to fix
      └── 2xx                                parsed; a body not of the expected shape is a
                                             FetchError naming what was wrong, never zeros

Both response shapes are accepted: the published ``results``/``api_map``/``name`` and the
console's ``items``/``apis``/``title``. Amounts are Credits, parsed exactly as ``Decimal``;
negative amounts are kept, since refunds exist. The token only travels in a header, and every
error message is scrubbed of it.
"""

from __future__ import annotations

import functools
import json
import logging
import math
import random
import ssl
import time
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from email.utils import parsedate_to_datetime
from typing import Any, NoReturn
from zoneinfo import ZoneInfo

import httpx

from reportbot import __version__
from reportbot.errors import ConfigError, FetchError
from reportbot.periods import iso_z, utc_bounds
from reportbot.usage import Usage, UsageRow

log = logging.getLogger("reportbot.acedata")
for _chatty in ("httpx", "httpcore"):
    # Both log full request URLs at INFO/DEBUG.
    logging.getLogger(_chatty).setLevel(logging.WARNING)

AGGREGATE_PATH = "/api/v1/usage/apis/aggregate/"
DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=5.0)
RETRY_AFTER_CAP = 60.0
DETAIL_LIMIT = 200
AMOUNT_DIGITS = 15  # an amount of 10**15 Credits or more is garbage, and would strain Decimal sums

_RETRY_STATUSES = frozenset({408, 409, 429, *range(500, 600)})
_RETRY_ERRORS = (
    httpx.TimeoutException,
    httpx.NetworkError,
    httpx.RemoteProtocolError,
    httpx.ProxyError,
)
_REJECTIONS = {
    400: "the usage API rejected the request{said}: "
    "check the report's application_id, api_ids and user_id",
    401: "the usage API rejected ACEDATA_TOKEN{said}: "
    "create a new token on the console's platform tokens page",
    403: "the usage API refused access{said}: the token lacks permission for this data; "
    'try user_id = "me" in the report config',
    404: "the usage API has no {url}{said}: check ACEDATA_BASE_URL",
}
_REDIRECTED = "the usage API answered {status}{said}: check ACEDATA_BASE_URL"
_REFUSED = "the usage API answered {status}{said}"

Params = dict[str, str | list[str]]
Outcome = httpx.Response | httpx.TransportError


def make_http_client(timeout: httpx.Timeout | float = DEFAULT_TIMEOUT) -> httpx.Client:
    """The HTTP client to read the usage API with: explicit timeouts, redirects not followed."""
    try:
        return httpx.Client(timeout=timeout, headers={"user-agent": f"reportbot/{__version__}"})
    except (ssl.SSLError, OSError) as exc:
        problem = f"cannot load the trusted certificates (check SSL_CERT_FILE): {exc}"
        raise ConfigError(problem) from None


class UsageClient:
    """Reads one period of usage; see the module docstring for what can go wrong."""

    def __init__(
        self,
        http: httpx.Client,
        base_url: str,
        token: str,
        *,
        max_attempts: int = 5,
        backoff_base: float = 0.5,
        backoff_cap: float = 8.0,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self._http = http
        self._url = aggregate_url(base_url)
        self._token = checked_token(token)
        self._max_attempts = max(1, max_attempts)
        self._backoff = (backoff_base, backoff_cap)
        self._sleep = sleep
        self._rng = rng if rng is not None else random.Random()  # noqa: S311 - jitter only

    def fetch(
        self,
        start: date,
        end: date,
        zone: ZoneInfo,
        *,
        application_id: str | None = None,
        api_ids: Sequence[str] = (),
        user_id: str | None = None,
    ) -> Usage:
        """Usage of the local days ``start..end`` (inclusive) in ``zone``."""
        params = query_params(
            start, end, zone, application_id=application_id, api_ids=api_ids, user_id=user_id
        )
        try:
            usage = parse_usage(self._send(params).content, start, end)
        except FetchError as exc:
            raise FetchError(self._scrub(str(exc))) from None
        log.info("fetched %d usage rows for %s..%s (%s)", len(usage.rows), start, end, zone.key)
        return usage

    def _send(self, params: Params) -> httpx.Response:
        for attempt in range(self._max_attempts):
            outcome = self._attempt(params)
            if isinstance(outcome, httpx.Response) and outcome.status_code not in _RETRY_STATUSES:
                return accepted(outcome)
            if attempt + 1 < self._max_attempts:
                self._retry_later(attempt, outcome)
        tries = f"{self._max_attempts} attempt{'s' if self._max_attempts > 1 else ''}"
        raise FetchError(f"the usage API {self._failure(outcome)} after {tries}")

    def _retry_later(self, attempt: int, outcome: Outcome) -> None:
        delay = self._delay(attempt, outcome)
        what = outcome.status_code if isinstance(outcome, httpx.Response) else _describe(outcome)
        log.warning(
            "the usage API failed (%s), attempt %d of %d: retrying in %.1f s",
            self._scrub(str(what)),
            attempt + 1,
            self._max_attempts,
            delay,
        )
        self._sleep(delay)

    def _attempt(self, params: Params) -> Outcome:
        headers = {"accept": "application/json", "authorization": f"Bearer {self._token}"}
        try:
            return self._http.get(self._url, params=params, headers=headers)
        except _RETRY_ERRORS as exc:
            return exc
        except httpx.HTTPError as exc:
            raise FetchError(
                f"could not call the usage API at {_shown(self._url)}: {_describe(exc)}"
            ) from None

    def _delay(self, attempt: int, outcome: Outcome) -> float:
        if isinstance(outcome, httpx.Response):
            hinted = retry_after(outcome.headers.get("retry-after"), datetime.now(UTC))
            if hinted is not None:
                return hinted
        base, cap = self._backoff
        return min(cap, base * 2.0 ** min(attempt, 32)) + self._rng.uniform(0, base)

    def _failure(self, outcome: Outcome) -> str:
        if isinstance(outcome, httpx.Response):
            return f"kept answering {outcome.status_code}{_said(outcome)}"
        return f"at {self._url.netloc.decode()} could not be reached ({_describe(outcome)})"

    def _scrub(self, message: str) -> str:
        return message.replace(self._token, "[ACEDATA_TOKEN]")


def aggregate_url(base_url: str) -> httpx.URL:
    """The aggregate endpoint under ``base_url``, with or without a trailing slash."""
    example = "an http(s) URL such as https://platform.acedata.cloud"
    try:
        base = httpx.URL(base_url.strip())
    except httpx.InvalidURL:
        raise ConfigError(f"ACEDATA_BASE_URL {base_url!r} is not {example}") from None
    if base.scheme not in ("http", "https") or not base.host:
        raise ConfigError(f"ACEDATA_BASE_URL {base_url!r} is not {example}")
    path = base.path.rstrip("/") + AGGREGATE_PATH
    return base.copy_with(path=path, query=None, fragment=None)


def checked_token(token: str) -> str:
    """The token, stripped; a ConfigError (never showing it) if it cannot be sent."""
    token = token.strip()
    if not token:
        raise ConfigError(
            "ACEDATA_TOKEN is empty: create a token on the console's platform tokens page"
        )
    if not (token.isascii() and token.isprintable()) or " " in token:
        raise ConfigError(
            "ACEDATA_TOKEN contains spaces or characters an HTTP header cannot "
            "carry: copy it again from the console's platform tokens page"
        )
    return token


def query_params(
    start: date,
    end: date,
    zone: ZoneInfo,
    *,
    application_id: str | None = None,
    api_ids: Sequence[str] = (),
    user_id: str | None = None,
) -> Params:
    """The aggregate query for local days ``start..end``: only the parameters that are set."""
    first, last = utc_bounds(start, end, zone)
    params: Params = {"created_at_from": iso_z(first), "created_at_to": iso_z(last)}
    params["timezone"] = zone.key
    if application_id:
        params["application_id"] = application_id
    if ids := [api_ids] if isinstance(api_ids, str) else list(api_ids):
        params["api_id"] = ids  # a list: httpx repeats the key
    if user_id:
        params["user_id"] = user_id
    return params


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


def accepted(response: httpx.Response) -> httpx.Response:
    """The response if it is a success, else a FetchError saying what to do."""
    if response.is_success:
        return response
    status = response.status_code
    fallback = _REDIRECTED if response.is_redirect else _REFUSED
    template = _REJECTIONS.get(status, fallback)
    url = _shown(response.request.url)
    raise FetchError(template.format(status=status, said=_said(response), url=url))


def _said(response: httpx.Response) -> str:
    """What the server said about an error, as ' (...)' on one short line, or ''."""
    if response.is_redirect:
        detail = f"redirects to {response.headers.get('location', 'nowhere')}"
    else:
        detail = _error_detail(response.content)
    detail = one_line(detail)
    return f" ({detail})" if detail else ""


def _error_detail(body: bytes) -> str:
    try:
        payload = json.loads(body)
    except (ValueError, RecursionError):
        return _text_of(body)
    if isinstance(payload, dict):
        error, detail = payload.get("error"), payload.get("detail")
        if isinstance(error, dict):
            return ": ".join(str(error[key]) for key in ("code", "message") if error.get(key))
        if detail or error:
            return str(detail or error)
    return json.dumps(payload, ensure_ascii=False)


def _text_of(body: bytes) -> str:
    text = body[: DETAIL_LIMIT * 20].decode("utf-8", "replace").strip()
    if not text.startswith("<"):
        return text
    title = text.lower().find("<title>")
    if title < 0:
        return "an HTML page"
    return "an HTML page: " + text[title + 7 :].partition("<")[0]


def one_line(text: str, limit: int = DETAIL_LIMIT) -> str:
    """``text`` without control characters or line breaks, cut to ``limit`` characters."""
    printable = "".join(c if c.isprintable() else " " for c in text[: limit * 4])
    flat = " ".join(printable.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _describe(exc: Exception) -> str:
    said = one_line(str(exc))
    return f"{type(exc).__name__}: {said}" if said else type(exc).__name__


def _shown(url: httpx.URL) -> str:
    return f"{url.scheme}://{url.netloc.decode()}{url.path}"


# --- the body ------------------------------------------------------------------------------


def parse_usage(body: bytes, start: date, end: date) -> Usage:
    """The rows of ``start..end`` in an aggregate response; a FetchError if it is not one."""
    payload = _json_object(body)
    rows = _rows(_items(payload))
    total = _total(payload.get("total"))
    if total is not None:
        _check_total(total, rows, start, end)
    kept = tuple(row for row in rows if start <= row.day <= end)
    names = {row.api_id: row.api_id for row in rows} | _names(payload)
    return Usage(kept, names, total)


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        payload = json.loads(body, parse_float=Decimal, parse_constant=_no_constant)
    except (ValueError, RecursionError):
        raise _bad_body(f"it is not JSON ({one_line(_text_of(body), 60) or 'empty'})") from None
    if not isinstance(payload, dict):
        raise _bad_body(f"it is {_show(payload)}, not an object")
    return payload


def _no_constant(name: str) -> NoReturn:
    raise _bad_body(f"it contains {name}, which is not a number")


def _items(payload: dict[str, Any]) -> list[Any]:
    key = "items" if "items" in payload else "results"
    if key not in payload:
        raise _bad_body("it has neither 'items' nor 'results'")
    if not isinstance(payload[key], list):
        raise _bad_body(f"'{key}' is {_show(payload[key])}, not a list")
    return payload[key]  # type: ignore[no-any-return]


def _rows(items: list[Any]) -> list[UsageRow]:
    """Every row, checked: the hot loop of a large period, so it stays flat."""
    rows: list[UsageRow] = []
    append, days = rows.append, _Days()
    for item in items:
        try:
            day, api_id, amount = days[item["date"]], item["api_id"], item["amount"]
        except (TypeError, KeyError, ValueError):
            raise _bad_body(_row_problem(len(rows) + 1, item)) from None
        if type(amount) is not Decimal:
            amount = _amount(amount)
        if amount is None or type(api_id) is not str or not api_id:
            raise _bad_body(_row_problem(len(rows) + 1, item))
        if amount.adjusted() >= AMOUNT_DIGITS:
            raise _bad_body(_row_problem(len(rows) + 1, item))
        append(_new_row(UsageRow, (day, api_id, amount)))
    return rows


_new_row = tuple.__new__  # UsageRow without its Python-level __new__: a third faster


class _Days(dict[str, date]):
    """Dates parsed once per distinct string (a period has few dates and many rows)."""

    def __missing__(self, text: str) -> date:
        day = datetime.fromisoformat(text).date()  # TypeError / ValueError: not a date
        self[text] = day
        return day


def _row_problem(number: int, item: object) -> str:
    if not isinstance(item, dict):
        return f"row {number} is {_show(item)}, not an object"
    for key in ("date", "api_id", "amount"):
        if key not in item:
            return f"row {number} has no '{key}'"
    if _day(item["date"]) is None:
        return f"row {number} has a date that is not a date: {_show(item['date'])}"
    if _amount(item["amount"]) is None:
        return (
            f"row {number} has an amount that is not a number of Credits: {_show(item['amount'])}"
        )
    return f"row {number} has an api_id that is not an id: {_show(item['api_id'])}"


def _day(value: object) -> date | None:
    """The date part of ``YYYY-MM-DD`` or an ISO datetime, as written (its local date)."""
    return _parse_day(value) if isinstance(value, str) else None


@functools.lru_cache(maxsize=4096)  # a period has few distinct dates and many rows
def _parse_day(text: str) -> date | None:
    try:
        return datetime.fromisoformat(text).date()
    except ValueError:
        return None


def _amount(value: object) -> Decimal | None:
    """An exact, finite, plausible amount from a JSON number or a numeric string."""
    if isinstance(value, Decimal):
        amount = value
    elif isinstance(value, int) and not isinstance(value, bool):
        amount = Decimal(value)
    elif isinstance(value, str):
        try:
            amount = Decimal(value)
        except InvalidOperation:
            return None
    else:
        return None
    return amount if amount.is_finite() and amount.adjusted() < AMOUNT_DIGITS else None


def _total(value: object) -> Decimal | None:
    if value is None:
        return None
    total = _amount(value)
    if total is None:
        raise _bad_body(f"'total' is not a number: {_show(value)}")
    return total


def _check_total(total: Decimal, rows: list[UsageRow], start: date, end: date) -> None:
    summed = sum((row.amount for row in rows), Decimal(0))
    if summed != total:
        log.warning(
            "the usage API's total for %s..%s is %s but its rows sum to %s: using the rows",
            start,
            end,
            total,
            summed,
        )


def _names(payload: dict[str, Any]) -> dict[str, str]:
    key = "apis" if payload.get("apis") is not None else "api_map"
    apis = payload.get(key)
    if apis is None:
        return {}
    if not isinstance(apis, dict):
        raise _bad_body(f"'{key}' is {_show(apis)}, not an object")
    return {api_id: name for api_id, entry in apis.items() if (name := _name(entry))}


def _name(entry: object) -> str | None:
    if isinstance(entry, dict):
        entry = entry.get("title") or entry.get("name")
    return entry if isinstance(entry, str) and entry.strip() else None


def _show(value: object) -> str:
    """A JSON value, briefly, for a message."""
    if isinstance(value, str):
        return repr(one_line(value, 40))
    if value is None or isinstance(value, bool):
        return json.dumps(value)
    if isinstance(value, int | Decimal):
        return one_line(str(value), 40)
    return "a list" if isinstance(value, list) else "an object"


def _bad_body(problem: str) -> FetchError:
    return FetchError(f"the usage API returned an unexpected body: {problem}")
