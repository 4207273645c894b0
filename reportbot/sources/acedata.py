"""The AceData Cloud usage aggregate endpoint, read into :class:`~reportbot.core.usage.Usage`.

    UsageClient.fetch(start, end, zone)
      GET {base_url}/api/v1/usage/apis/aggregate/     one request: the endpoint is not paginated
      ├── transport error, 408 409 429 5xx   retried with capped exponential backoff and jitter,
      │                                      Retry-After honoured; FetchError once attempts run out
      ├── any other 3xx or 4xx               FetchError at once, saying what to fix
      ├── 2xx                                parsed; a body not of the expected shape is a
      │                                      FetchError naming what was wrong, never zeros
      └── FETCH_DEADLINE passed, or a body   FetchError: no wait or read runs past the
          over MAX_BODY_BYTES (decoded)      deadline (sources/transfer.py)

The body is read by reportbot.sources.usage_body. The token only travels in a header, and every
error message is scrubbed of it.
"""

from __future__ import annotations

import json
import logging
import random
import ssl
import time
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import httpx

from reportbot import __version__
from reportbot.core.periods import iso_z, utc_bounds
from reportbot.core.usage import Usage
from reportbot.errors import ConfigError, FetchError
from reportbot.sources.transfer import RETRY_AFTER_CAP as RETRY_AFTER_CAP  # re-exported
from reportbot.sources.transfer import read_capped
from reportbot.sources.transfer import retry_after as retry_after  # re-exported
from reportbot.sources.usage_body import one_line, parse_usage, server_message, text_of

log = logging.getLogger("reportbot.sources.acedata")
for _chatty in ("httpx", "httpcore"):
    # Both log full request URLs at INFO/DEBUG.
    logging.getLogger(_chatty).setLevel(logging.WARNING)

AGGREGATE_PATH = "/api/v1/usage/apis/aggregate/"
DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=5.0)
FETCH_DEADLINE = 300.0  # seconds for a whole fetch, retries and waits included

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
        deadline: float = FETCH_DEADLINE,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._http = http
        self._url = aggregate_url(base_url)
        self._token = checked_token(token)
        self._max_attempts = max(1, max_attempts)
        self._backoff = (backoff_base, backoff_cap)
        self._sleep, self._deadline, self._clock = sleep, deadline, clock
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
        ends = self._clock() + self._deadline
        for attempt in range(self._max_attempts):
            outcome = self._attempt(params, ends)
            if isinstance(outcome, httpx.Response) and outcome.status_code not in _RETRY_STATUSES:
                return accepted(outcome)
            if attempt + 1 < self._max_attempts:
                self._retry_later(attempt, outcome, ends)
        tries = f"{self._max_attempts} attempt{'s' if self._max_attempts > 1 else ''}"
        raise FetchError(f"the usage API {self._failure(outcome)} after {tries}")

    def _retry_later(self, attempt: int, outcome: Outcome, ends: float) -> None:
        delay = self._delay(attempt, outcome)
        if self._clock() + delay > ends:
            raise FetchError(
                f"the usage API {self._failure(outcome)}, and the {self._deadline:g} s a fetch "
                f"may take leave no time for attempt {attempt + 2}"
            )
        what = outcome.status_code if isinstance(outcome, httpx.Response) else _describe(outcome)
        log.warning(
            "the usage API failed (%s), attempt %d of %d: retrying in %.1f s",
            self._scrub(str(what)),
            attempt + 1,
            self._max_attempts,
            delay,
        )
        self._sleep(delay)

    def _attempt(self, params: Params, ends: float) -> Outcome:
        headers = {"accept": "application/json", "authorization": f"Bearer {self._token}"}
        try:
            with self._http.stream("GET", self._url, params=params, headers=headers) as response:
                return read_capped(response, ends, self._clock)
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
        return text_of(body)
    said = server_message(payload)
    return json.dumps(payload, ensure_ascii=False) if said is None else said


def _describe(exc: Exception) -> str:
    said = one_line(str(exc))
    return f"{type(exc).__name__}: {said}" if said else type(exc).__name__


def _shown(url: httpx.URL) -> str:
    return f"{url.scheme}://{url.netloc.decode()}{url.path}"
