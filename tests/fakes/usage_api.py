"""A real local HTTP server standing in for the AceData Cloud usage aggregate endpoint.

    with UsageApiServer(token="platform-v1-test") as api:
        api.serve_rows([usage_row("2024-08-12", "api-1", "1.50")], {"api-1": "Chat"})
        client = UsageClient(httpx.Client(), api.url, "platform-v1-test")
        client.fetch(date(2024, 8, 12), date(2024, 8, 18), ZoneInfo("Europe/Berlin"))
        assert api.requests[0].query["timezone"] == ["Europe/Berlin"]

Answers, in order of precedence:
1. scripted responses (``respond_next``, ``fail_next``, ``disconnect_next``), first in first out;
2. 404 for any other path, 401 when ``token`` is set and the bearer token differs, 403 when
   ``require_user_id`` is set and the request's ``user_id`` differs, 400 for a bad
   ``created_at_*`` or ``timezone``;
3. the rows given to ``serve_rows``, in the ``items``/``apis``/``title`` shape the console reads
   or the ``results``/``api_map``/``name`` shape the docs show. Rows carry their local ``date``
   already; like the real server, it keeps those whose date lies in the local days that
   ``created_at_from``..``created_at_to`` span in ``timezone``, and applies ``api_id`` and
   ``application_id`` filters (a row without an ``application_id`` matches any).

Every request is recorded in ``requests`` (path, query as a multi-dict, lower-cased headers).
Decimal amounts are written as exact JSON numbers. Other tests can use the ``usage_api``
fixture by adding ``pytest_plugins = ["tests.fakes.usage_api"]`` to the root conftest.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections import deque
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from http.server import BaseHTTPRequestHandler
from typing import Any, Literal
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pytest

from tests.fakes.local_http import LocalHttpServer

AGGREGATE_PATH = "/api/v1/usage/apis/aggregate/"
Body = bytes | str | Mapping[str, Any] | list[Any]
Shape = Literal["items", "results"]
Total = Decimal | int | str | Literal["sum", "omit"]


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # names lower-cased

    def param(self, name: str) -> str | None:
        """The first value of a query parameter, or None."""
        values = self.query.get(name)
        return values[0] if values else None


@dataclass(frozen=True)
class Reply:
    status: int
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = ()
    disconnect: bool = False  # close the connection without answering


def usage_row(day: str, api_id: str, amount: object, **extra: Any) -> dict[str, Any]:
    """One row as the endpoint returns it (``extra``: e.g. ``application_id``)."""
    return {"date": day, "api_id": api_id, "amount": amount, **extra}


def encode_json(value: Any) -> bytes:
    """JSON in which Decimals are exact numbers, neither strings nor rounded floats."""
    marked = json.dumps(value, default=_mark_decimal)
    return _MARKED.sub(lambda m: m[1], marked).encode()


_MARKED = re.compile(r'"\\u0000decimal:([^"]*)"')


def _mark_decimal(value: object) -> str:
    if isinstance(value, Decimal):
        return f"\0decimal:{value}"
    raise TypeError(f"cannot encode {type(value).__name__} as JSON")


def json_reply(status: int, payload: Any, headers: Mapping[str, str] | None = None) -> Reply:
    return _reply(status, payload, headers)


def _reply(status: int, body: Body, headers: Mapping[str, str] | None) -> Reply:
    head = dict(headers or {})
    if isinstance(body, str):
        return Reply(status, body.encode(), tuple(head.items()))
    if isinstance(body, bytes):
        return Reply(status, body, tuple(head.items()))
    head.setdefault("Content-Type", "application/json")
    return Reply(status, encode_json(body), tuple(head.items()))


class UsageApiServer:
    """The fake endpoint, running in a background thread on 127.0.0.1 until ``close()``."""

    def __init__(self, *, token: str | None = None, require_user_id: str | None = None) -> None:
        self.token = token
        self.require_user_id = require_user_id
        self.requests: list[RecordedRequest] = []
        self._lock = threading.Lock()
        self._script: deque[Reply] = deque()
        self._rows: list[dict[str, Any]] = []
        self._names: dict[str, str] = {}
        self._shape: Shape = "items"
        self._total: Total = "sum"
        self._httpd = _Server(self)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )
        self._thread.start()

    @property
    def url(self) -> str:
        """The base URL, as ACEDATA_BASE_URL (no trailing slash)."""
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def usage_requests(self) -> list[RecordedRequest]:
        """The requests of the aggregate endpoint (not those of the applications list)."""
        return [r for r in self.requests if r.path.endswith("/aggregate/")]

    def serve_rows(
        self,
        rows: Iterable[Mapping[str, Any]],
        names: Mapping[str, str] | None = None,
        *,
        shape: Shape = "items",
        total: Total = "sum",
    ) -> None:
        """Rows to serve from now on; ``total``: "sum" of the rows served, "omit", or a value."""
        with self._lock:
            self._rows = [dict(row) for row in rows]
            self._names, self._shape, self._total = dict(names or {}), shape, total

    def respond_next(
        self,
        status: int,
        body: Body = b"",
        headers: Mapping[str, str] | None = None,
        times: int = 1,
    ) -> None:
        """Answer the next ``times`` requests so (a dict or list body is sent as JSON)."""
        with self._lock:
            self._script.extend([_reply(status, body, headers)] * times)

    def fail_next(
        self,
        status: int,
        body: Body | None = None,
        headers: Mapping[str, str] | None = None,
        times: int = 1,
    ) -> None:
        """Answer the next ``times`` requests with an error (default body: a ``detail``)."""
        default = {"detail": f"fake failure {status}"}
        self.respond_next(status, default if body is None else body, headers, times)

    def disconnect_next(self, times: int = 1) -> None:
        """Drop the next ``times`` connections without answering (a RemoteProtocolError)."""
        with self._lock:
            self._script.extend([Reply(0, disconnect=True)] * times)

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join()

    def __enter__(self) -> UsageApiServer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # --- the server's side -----------------------------------------------------------------

    latency = 0.0  # seconds every answer takes (benchmarks: a network-bound service)

    def _answer(self, request: RecordedRequest) -> Reply:
        if self.latency:
            time.sleep(self.latency)
        with self._lock:
            self.requests.append(request)
            if self._script:
                return self._script.popleft()
        return self._refusal(request) or self._usage(request)

    def _refusal(self, request: RecordedRequest) -> Reply | None:
        if request.path != AGGREGATE_PATH:
            return json_reply(404, {"detail": "Not found."})
        if self.token is not None and request.headers.get("authorization") != (
            f"Bearer {self.token}"
        ):
            return json_reply(401, {"detail": "Invalid platform token"})
        if self.require_user_id and request.param("user_id") != self.require_user_id:
            forbidden = "You do not have permission to perform this action."
            return json_reply(403, {"detail": forbidden})
        return None

    def _usage(self, request: RecordedRequest) -> Reply:
        try:
            first, last = _local_range(request)
        except ValueError as exc:
            return json_reply(400, {"detail": str(exc)})
        with self._lock:
            rows = [r for r in self._rows if _wanted(r, request, first, last)]
            payload = _payload(rows, self._names, self._shape, self._total)
        return json_reply(200, payload)


def _local_range(request: RecordedRequest) -> tuple[date, date]:
    """The local days ``created_at_from``..``created_at_to`` span in ``timezone``."""
    try:
        zone = ZoneInfo(request.param("timezone") or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"Unknown time zone {request.param('timezone')!r}") from None
    bounds = []
    for name, default in (("created_at_from", date.min), ("created_at_to", date.max)):
        text = request.param(name)
        try:
            bounds.append(datetime.fromisoformat(text).astimezone(zone).date() if text else default)
        except ValueError:
            raise ValueError(f"{name}: Enter a valid date/time.") from None
    return bounds[0], bounds[1]


def _wanted(row: Mapping[str, Any], request: RecordedRequest, first: date, last: date) -> bool:
    api_ids, app = request.query.get("api_id"), request.param("application_id")
    in_range = first <= date.fromisoformat(str(row["date"])[:10]) <= last
    app_ok = not app or row.get("application_id") in (None, app)
    return in_range and app_ok and (not api_ids or row["api_id"] in api_ids)


def _payload(
    rows: list[dict[str, Any]], names: Mapping[str, str], shape: Shape, total: Total
) -> dict[str, Any]:
    title = "title" if shape == "items" else "name"
    apis = {api_id: {title: name, "path": f"/{api_id}"} for api_id, name in names.items()}
    payload: dict[str, Any] = {shape: rows, "apis" if shape == "items" else "api_map": apis}
    if total == "sum":
        payload["total"] = _sum(rows)
    elif total != "omit":
        payload["total"] = total
    return payload


def _sum(rows: list[dict[str, Any]]) -> Decimal | None:
    try:
        return sum((Decimal(str(row["amount"])) for row in rows), Decimal(0))
    except (InvalidOperation, KeyError):
        return None


class _Server(LocalHttpServer):
    def __init__(self, fake: UsageApiServer) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.fake = fake


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        request = RecordedRequest(
            "GET",
            parts.path,
            parse_qs(parts.query, keep_blank_values=True),
            {name.lower(): value for name, value in self.headers.items()},
        )
        self._send(self.server.fake._answer(request))

    def _send(self, reply: Reply) -> None:
        if reply.disconnect:
            self.close_connection = True
            return
        self.send_response(reply.status)
        for name, value in reply.headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(reply.body)))
        self.end_headers()
        self.wfile.write(reply.body)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: tests read ``requests`` instead."""


@pytest.fixture
def usage_api() -> Iterator[UsageApiServer]:
    """A running fake usage API, closed after the test."""
    with UsageApiServer() as server:
        yield server
