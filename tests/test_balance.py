"""The balance client against a real local server: paging, exact sums, failures that never block."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import httpx
import pytest

from reportbot.core.insights import UNAVAILABLE
from reportbot.errors import FetchError
from reportbot.sources.balance import (
    BalanceClient,
    SharedBalance,
    applications_url,
    parse_page,
    read_balance,
)
from tests.fakes.balance_api import BalanceApiServer

TOKEN = "platform-v1-secret-token"


@pytest.fixture
def api() -> Iterator[BalanceApiServer]:
    with BalanceApiServer(token=TOKEN) as server:
        yield server


def client(api: BalanceApiServer, **options: object) -> BalanceClient:
    return BalanceClient(
        httpx.Client(timeout=5),
        api.url,
        TOKEN,
        max_attempts=3,
        sleep=lambda _: None,
        **options,  # type: ignore[arg-type]
    )


def test_the_balance_is_the_exact_sum_over_every_page(api: BalanceApiServer) -> None:
    # 25 applications of 0.10, 1.10, 2.10, … 24.10: sum = 0.10 × 25 + (0 + 1 + … + 24) = 302.50
    api.applications = [
        {"id": f"app-{n}", "remaining_amount": f"{n}.10", "used_amount": 1} for n in range(25)
    ]
    assert client(api, page_size=10).balance() == Decimal("302.50")
    assert [(q["limit"], q["offset"]) for q in api.requests] == [
        (["10"], ["0"]),
        (["10"], ["10"]),
        (["10"], ["20"]),
    ]


@pytest.mark.parametrize(
    ("amounts", "expected"),
    [
        ([], Decimal(0)),  # an account with no application
        ([0.1, 0.2], Decimal("0.3")),  # JSON numbers, never floats: exactly 0.3
        ([5, "2.25", None], Decimal("7.25")),  # ints, strings, and null as nothing left
        (["-3.5", 10], Decimal("6.5")),  # an overdrawn application counts against the rest
    ],
)
def test_remaining_amounts_of_any_json_form_are_summed_exactly(
    api: BalanceApiServer, amounts: list[object], expected: Decimal
) -> None:
    api.applications = [{"id": str(n), "remaining_amount": a} for n, a in enumerate(amounts)]
    assert client(api).balance() == expected


def test_a_page_shorter_than_the_count_says_still_ends_the_paging(api: BalanceApiServer) -> None:
    api.respond_next(b'{"count": 50, "items": [{"remaining_amount": 4}]}')
    api.respond_next(b'{"count": 50, "items": []}')
    assert client(api).balance() == Decimal(4)
    assert len(api.requests) == 2


def test_the_user_id_is_sent_when_configured(api: BalanceApiServer) -> None:
    client(api, user_id="me").balance()
    assert api.requests[0]["user_id"] == ["me"]


def test_server_errors_are_retried_before_the_balance_is_read(api: BalanceApiServer) -> None:
    api.applications = [{"remaining_amount": "9.99"}]
    api.fail_next(503, times=2)
    assert client(api).balance() == Decimal("9.99")
    assert len(api.requests) == 3


@pytest.mark.parametrize(
    ("status", "times", "said"),
    [
        (403, 1, "refused access"),
        (503, 3, "kept answering 503"),
        (401, 1, "rejected ACEDATA_TOKEN"),
    ],
)
def test_a_failing_balance_call_is_unavailable_with_one_log_line(
    api: BalanceApiServer,
    caplog: pytest.LogCaptureFixture,
    status: int,
    times: int,
    said: str,
) -> None:
    api.fail_next(status, times=times)
    with caplog.at_level(logging.WARNING, logger="reportbot.sources.balance"):
        assert read_balance(client(api)) == UNAVAILABLE
    lines = [r.getMessage() for r in caplog.records if r.name == "reportbot.sources.balance"]
    assert len(lines) == 1
    assert lines[0].startswith("balance unavailable: balance: ")
    assert said in lines[0]
    assert TOKEN not in caplog.text


def test_an_unreachable_server_is_unavailable_too(caplog: pytest.LogCaptureFixture) -> None:
    with BalanceApiServer() as api:
        url = api.url
    gone = BalanceClient(httpx.Client(timeout=2), url, TOKEN, max_attempts=2, sleep=lambda _: None)
    assert read_balance(gone) == UNAVAILABLE
    assert "could not be reached" in caplog.text


def test_no_balance_source_means_no_runway_rather_than_unavailable() -> None:
    assert read_balance(None) is None


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (b"<html>", "not JSON"),
        (b"[]", "no 'items' list"),
        (b'{"count": 1, "items": {}}', "no 'items' list"),
        (b'{"items": []}', "'count' is not a whole number"),
        (b'{"count": true, "items": []}', "'count' is not a whole number"),
        (b'{"count": 1, "items": [{"used_amount": 1}]}', "item 0 has no 'remaining_amount'"),
        (b'{"count": 1, "items": [{"remaining_amount": "lots"}]}', "is not a number"),
        (b'{"count": 1, "items": [{"remaining_amount": [1]}]}', "is not a number"),
        (b'{"count": 1, "items": [{"remaining_amount": NaN}]}', "NaN, which is not a number"),
        (b'{"count": 1, "items": [{"remaining_amount": "1e400"}]}', "not a plausible number"),
    ],
)
def test_a_body_of_the_wrong_shape_is_a_clear_error(body: bytes, problem: str) -> None:
    with pytest.raises(FetchError, match=r"^balance: .*cannot read") as caught:
        parse_page(body)
    assert problem in str(caught.value)


@pytest.mark.parametrize(
    ("base", "expected"),
    [
        ("https://platform.acedata.cloud", "https://platform.acedata.cloud/api/v1/applications/"),
        ("https://example.com/proxy/", "https://example.com/proxy/api/v1/applications/"),
    ],
)
def test_the_applications_url_sits_under_the_base_url(base: str, expected: str) -> None:
    assert str(applications_url(base)) == expected


def test_a_shared_balance_is_read_once_for_every_report_of_a_run(api: BalanceApiServer) -> None:
    api.applications = [{"remaining_amount": "42"}]
    shared = SharedBalance(client(api))
    with ThreadPoolExecutor(max_workers=8) as pool:
        readings = list(pool.map(lambda _: shared.read(), range(16)))
    assert readings == [Decimal(42)] * 16
    assert len(api.requests) == 1


def test_a_shared_failure_is_logged_once(
    api: BalanceApiServer, caplog: pytest.LogCaptureFixture
) -> None:
    api.fail_next(403)
    shared = SharedBalance(client(api))
    assert [shared.read(), shared.read()] == [UNAVAILABLE, UNAVAILABLE]
    assert len(api.requests) == 1
    assert caplog.text.count("balance unavailable") == 1
