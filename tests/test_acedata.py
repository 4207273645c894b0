"""The usage API client, mostly against a real local fake of the aggregate endpoint."""

from __future__ import annotations

import json
import logging
import random
import socket
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from email.utils import formatdate
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from reportbot.core.usage import Usage, UsageRow
from reportbot.core.waits import RETRY_AFTER_CAP, retry_after
from reportbot.errors import ConfigError, FetchError
from reportbot.sources.acedata import (
    UsageClient,
    aggregate_url,
    make_http_client,
)
from reportbot.sources.usage_body import parse_usage
from tests.fakes.usage_api import UsageApiServer, encode_json, usage_row

TOKEN = "platform-v1-0123456789abcdef-s3cr3t"
BERLIN = ZoneInfo("Europe/Berlin")
W33 = (date(2024, 8, 12), date(2024, 8, 18))  # Mon..Sun
ROWS = [
    usage_row("2024-08-12", "api-chat", Decimal("1.25")),
    usage_row("2024-08-12", "api-image", Decimal("0.5")),
    usage_row("2024-08-18", "api-chat", Decimal("2")),
]
NAMES = {"api-chat": "Chat Completions", "api-image": "Midjourney Images"}
RETRYABLE = [408, 409, 429, 500, 502, 503, 504]


class Sleeps(list[float]):
    """A stand-in for time.sleep that records the delays asked for."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def api() -> Iterator[UsageApiServer]:
    with UsageApiServer(token=TOKEN) as server:
        yield server


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with make_http_client(timeout=5.0) as client:
        yield client


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def client_for(http: httpx.Client, sleeps: Sleeps) -> Callable[..., UsageClient]:
    def make(base_url: str, **options: Any) -> UsageClient:
        options = {"sleep": sleeps, "rng": random.Random(33), **options}
        return UsageClient(http, base_url, options.pop("token", TOKEN), **options)

    return make


@pytest.fixture
def client(api: UsageApiServer, client_for: Callable[..., UsageClient]) -> UsageClient:
    return client_for(api.url)


def fetch_w33(client: UsageClient, **filters: Any) -> Any:
    return client.fetch(*W33, BERLIN, **filters)


def mock_client(
    handler: Callable[[httpx.Request], httpx.Response], sleeps: Sleeps, **options: Any
) -> UsageClient:
    http = httpx.Client(transport=httpx.MockTransport(handler))
    return UsageClient(
        http, "https://platform.example", TOKEN, sleep=sleeps, rng=random.Random(1), **options
    )


def body_with(*rows: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"items": list(rows), **extra}


# --- reading a period ------------------------------------------------------------------------


@pytest.mark.parametrize("shape", ["items", "results"])
def test_it_reads_rows_names_and_total_in_either_shape(
    api: UsageApiServer, client: UsageClient, shape: Any
) -> None:
    api.serve_rows(ROWS, NAMES, shape=shape)
    usage = fetch_w33(client)
    assert usage.rows == (
        UsageRow(date(2024, 8, 12), "api-chat", Decimal("1.25")),
        UsageRow(date(2024, 8, 12), "api-image", Decimal("0.5")),
        UsageRow(date(2024, 8, 18), "api-chat", Decimal("2")),
    )
    assert usage.api_names == NAMES
    assert usage.reported_total == Decimal("3.75")


@pytest.mark.parametrize(
    "amounts",
    [(0.1, 0.2), ("0.1", "0.2"), (Decimal("0.1"), Decimal("0.2")), (1, Decimal("-0.7"))],
    ids=["json-floats", "strings", "exact-numbers", "int-and-refund"],
)
def test_it_parses_amounts_exactly(
    api: UsageApiServer, client: UsageClient, amounts: tuple[Any, Any]
) -> None:
    api.serve_rows([usage_row("2024-08-13", "api-chat", amount) for amount in amounts])
    usage = fetch_w33(client)
    assert all(isinstance(row.amount, Decimal) for row in usage.rows)
    assert sum(row.amount for row in usage.rows) == sum(Decimal(str(a)) for a in amounts)


def test_it_sums_point_one_and_point_two_to_exactly_point_three(
    api: UsageApiServer, client: UsageClient
) -> None:
    api.serve_rows([usage_row("2024-08-13", "a", 0.1), usage_row("2024-08-14", "a", 0.2)])
    assert sum((row.amount for row in fetch_w33(client).rows), Decimal(0)) == Decimal("0.3")


def test_it_sends_the_token_as_a_bearer_header_and_asks_for_json(
    api: UsageApiServer, client: UsageClient
) -> None:
    fetch_w33(client)
    (request,) = api.requests
    assert request.path == "/api/v1/usage/apis/aggregate/"
    assert request.headers["authorization"] == f"Bearer {TOKEN}"
    assert request.headers["accept"] == "application/json"
    assert TOKEN not in json.dumps(request.query)


@pytest.mark.parametrize(
    ("start", "end", "zone", "first", "last"),
    [
        (*W33, "Europe/Berlin", "2024-08-11T22:00:00Z", "2024-08-18T21:59:59Z"),
        (
            date(2024, 8, 1),
            date(2024, 8, 31),
            "UTC",
            "2024-08-01T00:00:00Z",
            "2024-08-31T23:59:59Z",
        ),
        (
            date(2024, 3, 10),
            date(2024, 3, 10),
            "America/New_York",
            "2024-03-10T05:00:00Z",
            "2024-03-11T03:59:59Z",
        ),
        (
            date(2024, 1, 1),
            date(2024, 1, 1),
            "Asia/Kolkata",
            "2023-12-31T18:30:00Z",
            "2024-01-01T18:29:59Z",
        ),
    ],
    ids=["berlin-week", "utc-month", "new-york-dst-day", "kolkata-half-hour"],
)
def test_it_asks_for_the_utc_bounds_of_the_local_period_and_its_zone(
    api: UsageApiServer,
    client: UsageClient,
    start: date,
    end: date,
    zone: str,
    first: str,
    last: str,
) -> None:
    client.fetch(start, end, ZoneInfo(zone))
    query = api.requests[0].query
    assert query["created_at_from"] == [first]
    assert query["created_at_to"] == [last]
    assert query["timezone"] == [zone]


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({}, {}),
        ({"api_ids": ["api-a", "api-b"]}, {"api_id": ["api-a", "api-b"]}),
        ({"api_ids": "api-a"}, {"api_id": ["api-a"]}),
        (
            {"application_id": "app-1", "user_id": "me"},
            {"application_id": ["app-1"], "user_id": ["me"]},
        ),
        ({"application_id": None, "api_ids": (), "user_id": ""}, {}),
    ],
    ids=["none", "repeated-api-ids", "one-api-id-as-str", "app-and-user", "unset-values"],
)
def test_it_sends_the_optional_filters_only_when_set(
    api: UsageApiServer,
    client: UsageClient,
    filters: dict[str, Any],
    expected: dict[str, list[str]],
) -> None:
    fetch_w33(client, **filters)
    query = api.requests[0].query
    assert set(query) == {"created_at_from", "created_at_to", "timezone", *expected}
    assert {name: query[name] for name in expected} == expected


def test_it_only_gets_the_rows_of_the_apis_asked_for(
    api: UsageApiServer, client: UsageClient
) -> None:
    api.serve_rows(ROWS, NAMES)
    usage = fetch_w33(client, api_ids=["api-image"])
    assert [row.api_id for row in usage.rows] == ["api-image"]


def test_it_drops_rows_outside_the_period(api: UsageApiServer, client: UsageClient) -> None:
    rows = [
        usage_row(day, "a", 1) for day in ("2024-08-11", "2024-08-12", "2024-08-18", "2024-08-19")
    ]
    api.respond_next(200, body_with(*rows))
    usage = fetch_w33(client)
    assert [row.day for row in usage.rows] == [date(2024, 8, 12), date(2024, 8, 18)]


@pytest.mark.parametrize(
    "written",
    ["2024-08-12", "2024-08-12T00:00:00+02:00", "2024-08-12T00:00:00Z", "2024-08-12T23:59:59"],
)
def test_it_takes_the_date_part_of_a_date_or_datetime(
    api: UsageApiServer, client: UsageClient, written: str
) -> None:
    api.respond_next(200, body_with(usage_row(written, "a", 1)))
    assert fetch_w33(client).rows[0].day == date(2024, 8, 12)


@pytest.mark.parametrize(
    "apis",
    [
        {"apis": {"api-chat": {"title": "Chat"}}},
        {"apis": {"api-chat": {"title": "Chat"}, "api-image": {"title": "  "}}},
        {"api_map": {"api-chat": {"name": "Chat", "path": "/chat"}}},
    ],
)
def test_it_names_an_api_missing_from_the_map_by_its_id(
    api: UsageApiServer, client: UsageClient, apis: dict[str, Any]
) -> None:
    api.respond_next(200, body_with(*ROWS, **apis))
    assert fetch_w33(client).api_names == {"api-chat": "Chat", "api-image": "api-image"}


@pytest.mark.parametrize("payload", [{"items": []}, {"results": [], "total": 0, "api_map": {}}])
def test_it_accepts_a_quiet_period(
    api: UsageApiServer, client: UsageClient, payload: dict[str, Any]
) -> None:
    api.respond_next(200, payload)
    usage = fetch_w33(client)
    assert usage.rows == ()
    assert usage.reported_total in (None, Decimal(0))


def test_it_ignores_fields_it_does_not_know(api: UsageApiServer, client: UsageClient) -> None:
    row = usage_row("2024-08-12", "a", "1.5", application_id="app", calls=12)
    api.respond_next(200, body_with(row, count=1, next=None))
    assert fetch_w33(client).rows == (UsageRow(date(2024, 8, 12), "a", Decimal("1.5")),)


def test_it_logs_one_line_per_fetch(
    api: UsageApiServer, client: UsageClient, caplog: pytest.LogCaptureFixture
) -> None:
    api.serve_rows(ROWS, NAMES)
    with caplog.at_level(logging.INFO, logger="reportbot.sources.acedata"):
        fetch_w33(client)
    (record,) = [r for r in caplog.records if r.name == "reportbot.sources.acedata"]
    assert record.levelno == logging.INFO
    assert record.getMessage() == "fetched 3 usage rows for 2024-08-12..2024-08-18 (Europe/Berlin)"


@pytest.mark.parametrize(
    ("total", "warned"),
    [(Decimal("99"), True), ("3.75", False), (Decimal("3.750"), False), ("omit", False)],
)
def test_it_warns_when_the_total_disagrees_with_the_rows(
    api: UsageApiServer,
    client: UsageClient,
    caplog: pytest.LogCaptureFixture,
    total: Any,
    warned: bool,
) -> None:
    api.serve_rows(ROWS, NAMES, total=total)
    with caplog.at_level(logging.WARNING, logger="reportbot.sources.acedata"):
        usage = fetch_w33(client)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == (
        [
            "the usage API's total for 2024-08-12..2024-08-18 is 99 but its rows "
            "sum to 3.75: using the rows"
        ]
        if warned
        else []
    )
    assert sum(row.amount for row in usage.rows) == Decimal("3.75")


def test_it_compares_the_total_with_all_rows_even_those_outside_the_period(
    api: UsageApiServer, client: UsageClient, caplog: pytest.LogCaptureFixture
) -> None:
    rows = [usage_row("2024-08-11", "a", 1), usage_row("2024-08-12", "a", 2)]
    api.respond_next(200, body_with(*rows, total=3))
    with caplog.at_level(logging.WARNING, logger="reportbot.sources.acedata"):
        usage = fetch_w33(client)
    assert not caplog.records
    assert usage.reported_total == 3
    assert [row.amount for row in usage.rows] == [2]


# --- retries ---------------------------------------------------------------------------------


@pytest.mark.parametrize("status", RETRYABLE)
def test_it_retries_a_passing_failure_then_reads_the_answer(
    api: UsageApiServer, client: UsageClient, sleeps: Sleeps, status: int
) -> None:
    api.serve_rows(ROWS, NAMES)
    api.fail_next(status, times=2)
    assert len(fetch_w33(client).rows) == 3
    assert len(api.requests) == 3
    assert len(sleeps) == 2


def test_it_logs_each_retry_as_a_warning(
    api: UsageApiServer, client: UsageClient, caplog: pytest.LogCaptureFixture
) -> None:
    api.fail_next(503, headers={"Retry-After": "2"})
    with caplog.at_level(logging.WARNING, logger="reportbot.sources.acedata"):
        fetch_w33(client)
    assert [r.getMessage() for r in caplog.records] == [
        "the usage API failed (503), attempt 1 of 5: retrying in 2.0 s"
    ]


def test_it_backs_off_exponentially_with_jitter_up_to_the_cap(
    api: UsageApiServer, client_for: Callable[..., UsageClient], sleeps: Sleeps
) -> None:
    api.fail_next(503, times=5)
    client = client_for(api.url, max_attempts=6, backoff_base=0.5, backoff_cap=2.0)
    fetch_w33(client)
    floors = [0.5, 1.0, 2.0, 2.0, 2.0]
    assert len(sleeps) == len(floors)
    assert all(floor <= slept < floor + 0.5 for floor, slept in zip(floors, sleeps, strict=True))
    assert len(set(sleeps)) == len(sleeps)  # jittered


def test_its_jitter_is_reproducible_with_a_seeded_rng(
    api: UsageApiServer, client_for: Callable[..., UsageClient], sleeps: Sleeps
) -> None:
    for _ in range(2):
        api.fail_next(503, times=2)
        fetch_w33(client_for(api.url, rng=random.Random(5)))
    assert sleeps[:2] == sleeps[2:]


@pytest.mark.parametrize(
    ("header", "delay"),
    [
        ("3", 3.0),
        ("0", 0.0),
        ("1.5", 1.5),
        ("7200", RETRY_AFTER_CAP),
        ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0),
    ],
    ids=["seconds", "zero", "fraction", "capped", "http-date-in-the-past"],
)
def test_it_honours_retry_after(
    api: UsageApiServer, client: UsageClient, sleeps: Sleeps, header: str, delay: float
) -> None:
    api.fail_next(429, headers={"Retry-After": header})
    fetch_w33(client)
    assert sleeps == [delay]


def test_it_honours_retry_after_as_an_http_date(
    api: UsageApiServer, client: UsageClient, sleeps: Sleeps
) -> None:
    api.fail_next(503, headers={"Retry-After": formatdate(time.time() + 30, usegmt=True)})
    fetch_w33(client)
    assert 28.0 <= sleeps[0] <= 30.0


@pytest.mark.parametrize("header", ["soon", "nan", "inf", "-5e999", ""])
def test_it_backs_off_as_usual_when_retry_after_is_unreadable(
    api: UsageApiServer, client: UsageClient, sleeps: Sleeps, header: str
) -> None:
    api.fail_next(503, headers={"Retry-After": header})
    fetch_w33(client)
    assert 0.5 <= sleeps[0] < 1.0 or (header == "-5e999" and sleeps == [0.0])


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        ("10", 10.0),
        ("-3", 0.0),
        ("61", 60.0),
        ("Sun, 06 Nov 1994 08:49:37 GMT", 0.0),
        ("Thu, 01 Jan 2099 00:00:00 GMT", 60.0),
        ("Sat, 01 Jun 2024 12:00:30 GMT", 30.0),
        ("tomorrow", None),
    ],
)
def test_it_reads_retry_after_headers(value: str | None, expected: float | None) -> None:
    assert retry_after(value, datetime(2024, 6, 1, 12, 0, tzinfo=UTC)) == expected


@pytest.mark.parametrize(
    ("status", "body", "said"),
    [
        (503, {"detail": "Service Unavailable"}, "kept answering 503 (Service Unavailable)"),
        (
            429,
            {"error": {"code": "too_many_requests", "message": "slow down"}},
            "kept answering 429 (too_many_requests: slow down)",
        ),
        (
            502,
            "<html><head><title>502 Bad Gateway</title></head></html>",
            "kept answering 502 (an HTML page: 502 Bad Gateway)",
        ),
        (500, b"", "kept answering 500"),
    ],
)
def test_it_gives_up_after_max_attempts_saying_what_happened_last(
    api: UsageApiServer, client: UsageClient, sleeps: Sleeps, status: int, body: Any, said: str
) -> None:
    api.fail_next(status, body, times=5)
    with pytest.raises(FetchError) as caught:
        fetch_w33(client)
    assert str(caught.value) == f"the usage API {said} after 5 attempts"
    assert len(api.requests) == 5
    assert len(sleeps) == 4


def test_it_gives_up_when_nothing_listens(
    client_for: Callable[..., UsageClient], sleeps: Sleeps
) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again at once: nothing listens there
    client = client_for(f"http://127.0.0.1:{port}", max_attempts=3)
    with pytest.raises(
        FetchError,
        match=r"^the usage API at 127\.0\.0\.1:\d+ could not be "
        r"reached \(ConnectError: .+\) after 3 attempts$",
    ):
        fetch_w33(client)
    assert len(sleeps) == 2


def test_it_retries_a_dropped_connection(
    api: UsageApiServer, client: UsageClient, sleeps: Sleeps
) -> None:
    api.serve_rows(ROWS, NAMES)
    api.disconnect_next()
    assert len(fetch_w33(client).rows) == 3
    assert len(sleeps) == 1


@pytest.mark.parametrize(
    "error",
    [
        httpx.ReadTimeout("timed out"),
        httpx.ConnectTimeout("timed out"),
        httpx.ConnectError("[Errno 111] Connection refused"),
        httpx.ReadError("reset"),
        httpx.RemoteProtocolError("Server disconnected without sending a response."),
    ],
    ids=lambda e: type(e).__name__,
)
def test_it_retries_transport_errors(error: httpx.TransportError, sleeps: Sleeps) -> None:
    failures = [error]

    def handler(request: httpx.Request) -> httpx.Response:
        if failures:
            raise failures.pop()
        return httpx.Response(200, json={"items": [usage_row("2024-08-12", "a", "1")]})

    assert len(fetch_w33(mock_client(handler, sleeps)).rows) == 1
    assert len(sleeps) == 1


def test_it_names_the_last_transport_error_when_it_gives_up(sleeps: Sleeps) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out")

    with pytest.raises(FetchError) as caught:
        fetch_w33(mock_client(handler, sleeps, max_attempts=2))
    assert str(caught.value) == (
        "the usage API at platform.example could not be reached "
        "(ReadTimeout: timed out) after 2 attempts"
    )


def test_it_does_not_retry_a_transport_error_retrying_cannot_fix(sleeps: Sleeps) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.DecodingError("bad gzip")

    with pytest.raises(FetchError) as caught:
        fetch_w33(mock_client(handler, sleeps))
    assert str(caught.value) == (
        "could not call the usage API at https://platform.example"
        "/api/v1/usage/apis/aggregate/: DecodingError: bad gzip"
    )
    assert sleeps == []


# --- errors the user must fix ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "body", "message"),
    [
        (
            401,
            {"detail": "Invalid platform token"},
            "the usage API rejected ACEDATA_TOKEN (Invalid platform token): create a new token on "
            "the console's platform tokens page",
        ),
        (
            403,
            {"detail": "You do not have permission to perform this action."},
            "the usage API refused access (You do not have permission to perform this action.): "
            'the token lacks permission for this data; try user_id = "me" in the report config',
        ),
        (
            403,
            {"error": {"code": "forbidden", "message": "not your account"}},
            "the usage API refused access (forbidden: not your account): the token lacks "
            'permission for this data; try user_id = "me" in the report config',
        ),
        (
            404,
            {"detail": "Not found."},
            "the usage API has no http://127.0.0.1:{port}/api/v1/usage/apis/aggregate/ "
            "(Not found.): check ACEDATA_BASE_URL",
        ),
        (
            400,
            {"detail": "created_at_from is invalid"},
            "the usage API rejected the request (created_at_from is invalid): check the report's "
            "application_id, api_ids and user_id",
        ),
        (
            400,
            {"api_id": ["Not a valid id."]},
            'the usage API rejected the request ({"api_id": ["Not a valid id."]}): check the '
            "report's application_id, api_ids and user_id",
        ),
        (422, "unprocessable", "the usage API answered 422 (unprocessable)"),
        (
            301,
            b"",
            "the usage API answered 301 (redirects to https://new.example/): "
            "check ACEDATA_BASE_URL",
        ),
    ],
)
def test_it_does_not_retry_what_the_user_must_fix_and_says_what_to_do(
    api: UsageApiServer,
    client: UsageClient,
    sleeps: Sleeps,
    status: int,
    body: Any,
    message: str,
) -> None:
    port = api.url.rsplit(":", 1)[1]
    api.fail_next(status, body, headers={"Location": "https://new.example/"})
    with pytest.raises(FetchError) as caught:
        fetch_w33(client)
    assert str(caught.value) == message.replace("{port}", port)
    assert len(api.requests) == 1
    assert sleeps == []


def test_it_says_a_rejected_token_is_rejected_by_the_real_check(
    api: UsageApiServer, client_for: Callable[..., UsageClient]
) -> None:
    client = client_for(api.url, token="platform-v1-revoked")
    with pytest.raises(FetchError, match=r"rejected ACEDATA_TOKEN \(Invalid platform token\)"):
        fetch_w33(client)


def test_it_suggests_user_id_me_which_then_works(
    client_for: Callable[..., UsageClient],
) -> None:
    with UsageApiServer(require_user_id="me") as api:
        api.serve_rows(ROWS, NAMES)
        client = client_for(api.url)
        with pytest.raises(FetchError, match='try user_id = "me"'):
            fetch_w33(client)
        assert len(fetch_w33(client, user_id="me").rows) == 3


def test_it_keeps_the_server_detail_to_one_short_line(
    api: UsageApiServer, client: UsageClient
) -> None:
    api.fail_next(400, {"detail": "line one\nline two\r\n\x1b[31m" + "x" * 5000})
    with pytest.raises(FetchError) as caught:
        fetch_w33(client)
    message = str(caught.value)
    assert "(line one line two xxx" in message  # the escape sequence is gone, whole
    assert message.isprintable()
    assert len(message) < 320


@pytest.mark.parametrize(
    "base_url",
    ["{url}", "{url}/", "{url}//", " {url} "],
    ids=["bare", "slash", "slashes", "spaces"],
)
def test_it_joins_the_base_url_with_or_without_a_trailing_slash(
    api: UsageApiServer, client_for: Callable[..., UsageClient], base_url: str
) -> None:
    fetch_w33(client_for(base_url.format(url=api.url)))
    assert api.requests[0].path == "/api/v1/usage/apis/aggregate/"


@pytest.mark.parametrize(
    ("base_url", "expected"),
    [
        (
            "https://platform.acedata.cloud",
            "https://platform.acedata.cloud/api/v1/usage/apis/aggregate/",
        ),
        ("https://gw.example/acedata/", "https://gw.example/acedata/api/v1/usage/apis/aggregate/"),
        ("http://localhost:8080?x=1", "http://localhost:8080/api/v1/usage/apis/aggregate/"),
    ],
)
def test_it_keeps_a_base_url_path_prefix(base_url: str, expected: str) -> None:
    assert str(aggregate_url(base_url)) == expected


@pytest.mark.parametrize(
    "base_url", ["", "platform.acedata.cloud", "ftp://x.example", "http://", "http://[::1"]
)
def test_it_refuses_a_base_url_it_cannot_call(base_url: str, http: httpx.Client) -> None:
    with pytest.raises(ConfigError, match=r"^ACEDATA_BASE_URL .* is not an http\(s\) URL"):
        UsageClient(http, base_url, TOKEN)


@pytest.mark.parametrize("token", ["", "   ", f"{TOKEN}\nX-Evil: 1", f"{TOKEN} extra", f"{TOKEN}é"])
def test_it_refuses_a_token_it_cannot_send_without_showing_it(
    token: str, http: httpx.Client
) -> None:
    with pytest.raises(ConfigError, match=r"^ACEDATA_TOKEN ") as caught:
        UsageClient(http, "https://platform.example", token)
    assert TOKEN not in str(caught.value)


# --- bodies that are not a usage report ------------------------------------------------------


def row_with(**changes: Any) -> dict[str, Any]:
    row = usage_row("2024-08-12", "api-chat", "1.5") | changes
    return {key: value for key, value in row.items() if value is not ...}


MALFORMED: list[tuple[str, Any, str]] = [
    ("not-json", b"Service temporarily unavailable", "it is not JSON (Service temporarily"),
    ("empty", b"", "it is not JSON (empty)"),
    (
        "html",
        b"<!DOCTYPE html><html><title>Login</title></html>",
        "it is not JSON (an HTML page: Login)",
    ),
    ("truncated", b'{"items": [{"date": "2024-08-12"', "it is not JSON"),
    ("deeply-nested", b"[" * 100_000, "it is not JSON"),
    ("bad-utf8", b'{"items": "\xff\xfe"}', "it is not JSON"),
    ("a-list", [], "it is a list, not an object"),
    ("a-string", '"ok"', "it is 'ok', not an object"),
    ("null", b"null", "it is null, not an object"),
    ("no-items", {"total": 5}, "it has neither 'items' nor 'results'"),
    ("items-not-a-list", {"items": {"a": 1}}, "'items' is an object, not a list"),
    ("results-null", {"results": None}, "'results' is null, not a list"),
    ("row-not-object", {"items": [row_with(), 5]}, "row 2 is 5, not an object"),
    (
        "no-amount",
        {"items": [row_with(), row_with(), row_with(amount=...)]},
        "row 3 has no 'amount'",
    ),
    ("no-date", {"items": [row_with(date=...)]}, "row 1 has no 'date'"),
    ("no-api-id", {"items": [row_with(api_id=...)]}, "row 1 has no 'api_id'"),
    (
        "amount-word",
        {"items": [row_with(amount="abc")]},
        "row 1 has an amount that is not a number of Credits: 'abc'",
    ),
    (
        "amount-bool",
        {"items": [row_with(amount=True)]},
        "row 1 has an amount that is not a number of Credits: true",
    ),
    (
        "amount-null",
        {"items": [row_with(amount=None)]},
        "row 1 has an amount that is not a number of Credits: null",
    ),
    (
        "amount-list",
        {"items": [row_with(amount=[1])]},
        "row 1 has an amount that is not a number of Credits: a list",
    ),
    (
        "amount-nan-string",
        {"items": [row_with(amount="NaN")]},
        "row 1 has an amount that is not a number of Credits: 'NaN'",
    ),
    (
        "amount-infinity-string",
        {"items": [row_with(amount="-Infinity")]},
        "row 1 has an amount that is not a number of Credits: '-Infinity'",
    ),
    (
        "amount-nan-literal",
        b'{"items": [{"date": "2024-08-12", "api_id": "a", "amount": NaN}]}',
        "it contains NaN, which is not a number",
    ),
    (
        "amount-huge",
        {"items": [row_with(amount=Decimal("1e400"))]},
        "row 1 has an amount that is not a number of Credits: 1E+400",
    ),
    (
        "date-word",
        {"items": [row_with(date="yesterday")]},
        "row 1 has a date that is not a date: 'yesterday'",
    ),
    (
        "date-number",
        {"items": [row_with(date=20240812)]},
        "row 1 has a date that is not a date: 20240812",
    ),
    ("api-id-number", {"items": [row_with(api_id=7)]}, "row 1 has an api_id that is not an id: 7"),
    ("api-id-empty", {"items": [row_with(api_id="")]}, "row 1 has an api_id that is not an id: ''"),
    ("total-word", {"items": [], "total": "lots"}, "'total' is not a number: 'lots'"),
    ("apis-list", {"items": [], "apis": []}, "'apis' is a list, not an object"),
    (
        "both-row-keys-disagree",
        {"items": [], "results": [row_with()]},
        "it has both 'items' and 'results' and they disagree",
    ),
    (
        "both-row-keys-one-null",
        {"items": [row_with()], "results": None},
        "it has both 'items' and 'results' and they disagree",
    ),
    (
        "both-name-maps-disagree",
        {"items": [row_with()], "apis": {"api-chat": {"title": "Chat"}}, "api_map": {}},
        "it has both 'apis' and 'api_map' and they disagree",
    ),
    (
        "api-map-list-beside-apis",
        {"items": [], "apis": {}, "api_map": []},
        "'api_map' is a list, not an object",
    ),
]


@pytest.mark.parametrize(
    ("body", "problem"), [m[1:] for m in MALFORMED], ids=[m[0] for m in MALFORMED]
)
def test_it_refuses_a_body_that_is_not_a_usage_report(
    api: UsageApiServer, client: UsageClient, body: Any, problem: str
) -> None:
    api.respond_next(200, body, headers={"Content-Type": "application/json"})
    with pytest.raises(FetchError) as caught:
        fetch_w33(client)
    message = str(caught.value)
    assert message.startswith(f"the usage API returned an unexpected body: {problem}")
    assert "\n" not in message
    assert len(api.requests) == 1


def test_it_accepts_both_spellings_of_a_key_when_they_agree() -> None:
    rows = [row_with()]
    body = {
        "items": rows,
        "results": rows,
        "apis": {"api-chat": {"title": "Chat"}},
        "api_map": {"api-chat": {"name": "Chat", "path": "/chat"}},
    }
    usage = parse_usage(encode_json(body), *W33)
    assert [row.amount for row in usage.rows] == [Decimal("1.5")]
    assert usage.api_names == {"api-chat": "Chat"}


@pytest.mark.parametrize(
    ("body", "said"),
    [
        ({"detail": "Invalid platform token"}, "Invalid platform token"),
        ({"error": {"code": "quota", "message": "over quota"}}, "quota: over quota"),
        ({"error": "maintenance"}, "maintenance"),
        ({"detail": "x", "items": []}, "x"),
        ({"detail": ["a", "b"]}, '["a", "b"]'),
        ({"error": {"code": "\x1b]0;owned\x07bad\r\nnews"}}, "bad news"),
        ({"detail": "\x9b31mred\x85" + "y" * 1000}, "red y"),
    ],
)
def test_a_success_carrying_an_error_message_is_that_error(
    api: UsageApiServer, client: UsageClient, body: dict[str, Any], said: str
) -> None:
    api.respond_next(200, body, headers={"Content-Type": "application/json"})
    with pytest.raises(FetchError) as caught:
        fetch_w33(client)
    message = str(caught.value)
    assert message.startswith(f"the usage API answered with an error instead of usage: {said}")
    assert message.isprintable()
    assert len(message) < 300


@pytest.mark.parametrize("quiet", [{"detail": None}, {"error": None}, {"error": ""}])
def test_an_empty_error_field_beside_the_rows_is_no_error(quiet: dict[str, Any]) -> None:
    usage = parse_usage(encode_json({"items": [row_with()], **quiet}), *W33)
    assert len(usage.rows) == 1


@pytest.mark.parametrize(
    ("amount", "kept"),
    [
        ("1e-999999999", Decimal("0E-12")),
        ("-1e-999999999", Decimal("-0E-12")),
        ("0.0000000000004", Decimal("0E-12")),
        ("0.0000000000005", Decimal("0E-12")),  # half-even
        ("0.0000000000009", Decimal("1E-12")),
        ("0E-999999", Decimal("0E-12")),
        ("0.0000000000015", Decimal("1.5E-12")),  # a pico-credit or more: exact
        ("1.1234567890123456789", Decimal("1.1234567890123456789")),
        ("0.000001", Decimal("0.000001")),
        ("1E+14", Decimal("1E+14")),
        ("123456789012345e-12", Decimal("123.456789012345")),
    ],
)
def test_an_amount_below_a_pico_credit_is_rounded_to_twelve_places(
    amount: str, kept: Decimal
) -> None:
    for spelled in (amount.encode(), f'"{amount}"'.encode()):  # a JSON number and a string
        body = b'{"items": [{"date": "2024-08-12", "api_id": "a", "amount": %s}]}' % spelled
        (row,) = parse_usage(body, *W33).rows
        assert row.amount == kept and str(row.amount) == str(kept)
        assert len(f"{row.amount:f}") <= len(amount) + 14


def test_a_tiny_total_is_bounded_too() -> None:
    usage = parse_usage(b'{"items": [], "total": 1e-999999999}', *W33)
    assert len(f"{usage.reported_total:f}") < 20


def parsed_or_message(body: bytes) -> Usage | str:
    """The parsed body, or the one-line message of the FetchError it caused."""
    try:
        return parse_usage(body, *W33)
    except FetchError as exc:
        return str(exc)


@given(st.binary(max_size=300))
def test_it_never_fails_on_bytes_other_than_with_a_fetch_error(body: bytes) -> None:
    outcome = parsed_or_message(body)
    assert isinstance(outcome, Usage) or "\n" not in outcome


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=12,
)
row_values = st.fixed_dictionaries(
    {},
    optional={
        "date": st.sampled_from(["2024-08-12", "2024-8-12", "x"]) | json_values,
        "api_id": st.sampled_from(["a", ""]) | json_values,
        "amount": st.sampled_from(["1.5", "-2", "1e3", "NaN"]) | json_values,
    },
)


@given(
    st.fixed_dictionaries(
        {},
        optional={
            "items": st.lists(row_values | json_values, max_size=4) | json_values,
            "total": json_values,
            "apis": json_values,
        },
    )
)
def test_it_never_fails_on_json_other_than_with_a_fetch_error(payload: dict[str, Any]) -> None:
    outcome = parsed_or_message(json.dumps(payload).encode())
    if isinstance(outcome, str):
        assert outcome.startswith("the usage API returned an unexpected body: ")
        assert "\n" not in outcome
    else:
        assert all(row.amount.is_finite() and W33[0] <= row.day <= W33[1] for row in outcome.rows)


@given(
    st.lists(
        st.decimals(
            allow_nan=False, allow_infinity=False, places=6, min_value=-(10**9), max_value=10**9
        ),
        max_size=20,
    )
)
def test_it_keeps_every_amount_exact(amounts: list[Decimal]) -> None:
    rows = [usage_row("2024-08-14", "a", amount) for amount in amounts]
    usage = parse_usage(encode_json({"items": rows, "total": sum(amounts, Decimal(0))}), *W33)
    assert [row.amount for row in usage.rows] == amounts
    assert sum((row.amount for row in usage.rows), Decimal(0)) == usage.reported_total


# --- secrets ---------------------------------------------------------------------------------


def echo_token(api: UsageApiServer) -> None:
    api.fail_next(401, {"detail": f"Invalid platform token {TOKEN}"})


def echo_token_in_error(api: UsageApiServer) -> None:
    api.fail_next(503, {"error": {"code": "x", "message": f"Bearer {TOKEN}"}}, times=5)


def echo_token_in_body(api: UsageApiServer) -> None:
    api.respond_next(200, f"not json: {TOKEN}")


def echo_token_as_amount(api: UsageApiServer) -> None:
    api.respond_next(200, {"items": [usage_row("2024-08-12", "a", TOKEN)]})


@pytest.mark.parametrize(
    "scenario", [echo_token, echo_token_in_error, echo_token_in_body, echo_token_as_amount]
)
def test_it_never_shows_the_token_in_messages_or_logs(
    api: UsageApiServer,
    client: UsageClient,
    caplog: pytest.LogCaptureFixture,
    scenario: Callable[[UsageApiServer], None],
) -> None:
    scenario(api)
    with caplog.at_level(logging.DEBUG), pytest.raises(FetchError) as caught:
        fetch_w33(client)
    assert TOKEN not in str(caught.value)
    assert "[ACEDATA_TOKEN]" in str(caught.value)
    assert all(TOKEN not in record.getMessage() for record in caplog.records)


def test_it_keeps_the_token_out_of_the_logs_of_a_good_fetch(
    api: UsageApiServer, client: UsageClient, caplog: pytest.LogCaptureFixture
) -> None:
    api.serve_rows(ROWS, NAMES, total=Decimal(1))
    with caplog.at_level(logging.DEBUG):
        fetch_w33(client)
    assert caplog.records
    assert all(TOKEN not in record.getMessage() for record in caplog.records)


def test_it_quiets_the_http_loggers_that_log_full_urls() -> None:
    assert logging.getLogger("httpx").getEffectiveLevel() >= logging.WARNING
    assert logging.getLogger("httpcore").getEffectiveLevel() >= logging.WARNING


def test_its_http_client_has_explicit_timeouts_and_does_not_follow_redirects() -> None:
    with make_http_client() as http:
        assert http.timeout == httpx.Timeout(30.0, connect=5.0)
        assert not http.follow_redirects


def test_it_reads_a_long_period_of_many_rows_exactly(
    api: UsageApiServer, client: UsageClient
) -> None:
    start = date(2024, 1, 1)
    days = [(start + timedelta(days=n)).isoformat() for n in range(366)]
    rows = [usage_row(day, f"api-{i}", Decimal(f"0.{i:03d}")) for day in days for i in range(30)]
    api.serve_rows(rows)
    usage = client.fetch(start, date(2024, 12, 31), ZoneInfo("UTC"))
    assert len(usage.rows) == len(rows)
    assert usage.reported_total == sum((Decimal(f"0.{i:03d}") for i in range(30)), Decimal(0)) * 366


def test_it_refuses_a_body_larger_than_the_cap_counting_decompressed_bytes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import gzip

    from reportbot.sources import transfer

    monkeypatch.setattr(transfer, "MAX_BODY_BYTES", 100_000)
    bomb = gzip.compress(b'{"items": [' + b" " * 1_000_000 + b"]}")  # ~1 KB on the wire

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=bomb, headers={"content-encoding": "gzip"})

    with pytest.raises(FetchError, match="the usage API sent more than 100,000 bytes: refused"):
        fetch_w33(mock_client(handler, []))


def test_it_reads_a_gzipped_body() -> None:
    import gzip

    body = gzip.compress(encode_json({"items": ROWS}))

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=body, headers={"content-encoding": "gzip"})

    assert len(fetch_w33(mock_client(handler, [])).rows) == len(ROWS)


class FakeClock:
    """Monotonic seconds that pass only when the client sleeps (or a test says so)."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_a_fetch_gives_up_when_its_deadline_leaves_no_time_for_another_attempt() -> None:
    clock = FakeClock()
    client = UsageClient(
        httpx.Client(transport=httpx.MockTransport(lambda request: httpx.Response(503))),
        "https://platform.example",
        TOKEN,
        max_attempts=10,
        backoff_base=1.0,
        backoff_cap=100.0,
        sleep=clock.sleep,
        rng=random.Random(1),
        deadline=10.0,
        clock=clock,
    )
    with pytest.raises(FetchError) as caught:
        fetch_w33(client)
    assert str(caught.value).startswith("the usage API kept answering 503")
    assert "the 10 s a fetch may take leave no time for attempt 5" in str(caught.value)
    assert clock.now <= 10.0


def test_a_body_still_arriving_when_the_deadline_passes_is_given_up() -> None:
    clock = FakeClock()

    def trickle(request: httpx.Request) -> httpx.Response:
        def chunks() -> Iterator[bytes]:
            for _ in range(100):
                clock.now += 1.0  # a slow server: a second a chunk
                yield b" "

        return httpx.Response(200, content=chunks())

    http = httpx.Client(transport=httpx.MockTransport(trickle))
    client = UsageClient(http, "https://platform.example", TOKEN, deadline=5.0, clock=clock)
    with pytest.raises(FetchError, match="still sending when the fetch's time was up"):
        fetch_w33(client)
    assert clock.now < 10


def test_a_server_that_trickles_its_answer_is_cut_off_at_the_fetch_deadline() -> None:
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def trickle() -> None:
        conn, _ = listener.accept()
        with conn:
            conn.recv(65536)
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n")
            conn.sendall(b"Content-Length: 100000\r\n\r\n")
            for _ in range(400):  # 1 byte every 20 ms: never a read timeout
                if stop.wait(0.02):
                    return
                try:
                    conn.sendall(b" ")
                except OSError:
                    return

    thread = threading.Thread(target=trickle, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{listener.getsockname()[1]}"
    with httpx.Client(timeout=5) as http:
        client = UsageClient(http, url, "tok", deadline=0.5, sleep=lambda _: None)
        started = time.monotonic()
        with pytest.raises(FetchError, match=r"still sending when the fetch.s time was up"):
            client.fetch(date(2024, 8, 12), date(2024, 8, 18), ZoneInfo("UTC"))
    assert time.monotonic() - started < 5  # not the 8 s the trickle would take
    stop.set()
    thread.join(timeout=5)
    listener.close()
