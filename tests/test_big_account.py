"""The lean reading of a usage body (usage_lean) gives what the careful reading gives, or
steps aside: on every body below, ``parse_usage`` and the careful reading alone agree on the
rows (values and how they are written), the names, the total, or the exact error message.

Slices are made tiny here, so that bodies are cut many times, next to every ``},`` a string or
a nested value could hold.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reportbot.core.usage import UsageRow, UsageRows
from reportbot.errors import FetchError
from reportbot.sources import usage_body, usage_lean
from reportbot.sources.usage_body import parse_usage
from tests.fakes.usage_api import encode_json

START, END = date(2024, 8, 5), date(2024, 8, 18)


@pytest.fixture(autouse=True)
def tiny_slices(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(usage_lean, "SLICE_BYTES", 24)
    yield


def outcome(read: Any, body: bytes) -> tuple[object, ...]:
    try:
        usage = read(body, START, END)
    except FetchError as exc:
        return ("error", str(exc))
    rows = [(r.day, r.api_id, type(r.amount), str(r.amount)) for r in usage.rows]
    names = list(usage.api_names.items())
    return ("usage", rows, names, repr(usage.reported_total))


def agree(body: bytes) -> tuple[object, ...]:
    lean_first = outcome(parse_usage, body)
    assert lean_first == outcome(usage_body._careful_usage, body)
    return lean_first


def row(day: str = "2024-08-12", api_id: str = "a", amount: str = "1.5") -> str:
    return f'{{"date": "{day}", "api_id": "{api_id}", "amount": {amount}}}'


def body_of(*rows: str, tail: str = "") -> bytes:
    return ('{"items": [' + ", ".join(rows) + "]" + tail + "}").encode()


ORDINARY = body_of(
    row(),
    row("2024-08-13", "b", "2"),
    row("2024-08-04", "a", "7"),  # before the range: dropped, but named
    row("2024-08-14", "a", '"0.25"'),
    tail=', "total": 10.75, "apis": {"a": {"title": "Chat"}}',
)

ODD_BODIES = [
    ORDINARY,
    body_of(),
    b'{"items": [ ]}',
    b'{"results": [{"date":"2024-08-12","api_id":"a","amount":1}],'
    b' "api_map": {"a": {"name": "A"}}}',
    body_of(row(api_id="x},{y"), row(api_id='q\\"},'), row(api_id="\\u00e9}, ")),
    body_of(row(amount="1E+3"), row(amount="1.5e2"), row(amount="-0"), row(amount="-0.0")),
    body_of(row(amount="1e-999999999"), row(amount="0.0000000000005"), row(amount="-3.25")),
    body_of(row(amount='"  7.5 "'), row(amount='"1_000"'), row(amount='"-0"'), row(amount="10")),
    body_of(row(amount='"NaN"')),
    body_of(row(amount='"Infinity"')),
    body_of(row(amount="NaN")),
    body_of(row(amount="1e15")),
    body_of(row(amount="999999999999999.999")),
    body_of(row(amount="1" * 5000)),
    body_of(row(amount="true")),
    body_of(row(amount="null")),
    body_of(row(amount='{"x": 1}, "y": 2')),
    body_of(row(amount="[1]")),
    body_of(row(day="2024-08-12T23:30:00+02:00"), row(day="2024-08-11T00:00:00Z")),
    body_of(row(day="yesterday")),
    body_of(row(api_id="")),
    body_of(row(api_id="\\ud800")),
    body_of(row(), "1"),
    body_of(row(), "{}"),
    body_of(row(), '{"date": "2024-08-12", "api_id": "a"}'),
    body_of(row(), '{"date": "2024-08-12", "api_id": "a", "amount": 1, "application_id": "p"}'),
    body_of(row(), '{"date": "2024-08-12", "api_id": 5, "amount": 1}'),
    body_of(row(), '{"date": "2024-08-12", "api_id": "a", "amount": 1, "amount": 2}'),
    body_of(row(), row(), row()),  # duplicates are all kept
    b'{"items": [' + row().encode() + b", ]}",  # a trailing comma
    b'{"items": [' + row().encode() + b", , " + row().encode() + b"]}",
    b'{"items": [' + row().encode() + b"}, " + row().encode() + b"]}",
    body_of(row(), tail=', "total": 99'),
    body_of(row(), tail=', "total": "1.5"'),
    body_of(row(), tail=', "total": "lots"'),
    body_of(row(), tail=', "total": null'),
    body_of(row(), tail=', "detail": "Invalid platform token"'),
    body_of(row(), tail=', "error": {"code": "x", "message": "boom"}'),
    body_of(row(), tail=', "detail": ""'),
    body_of(row(), tail=', "results": []'),
    body_of(row(), tail=', "apis": {"a": "Chat"}, "api_map": {"a": {"name": "Other"}}'),
    body_of(row(), tail=', "apis": [1]'),
    body_of(row(), tail=', "apis": {"a": {"title": "\\u00e9\\ud83d\\ude00"}}'),
    body_of(row(), tail=', "extra": ' + "[" * 3000 + "]" * 3000),
    body_of(row(), tail=', "extra": ' + "1" * 5000),
    body_of(row(api_id="é"), tail=', "extra": "ÿ\u2028"'),
    b'{"items": [' + row().encode() + b'], "x": "\xff"}',
    b'{"items": [' + row().encode() + b'], "\xff": 1}',
    b'{"items": [' + row(api_id="\xff").encode("latin-1") + b"]}",  # not UTF-8
    b'\xef\xbb\xbf{"items": []}',
    '{"items": []}'.encode("utf-16"),
    b'{"items": [], "items": [' + row().encode() + b"]}",
    b'{"items": {}}',
    b'{"items": null}',
    b"[]",
    b"",
    b"<html><title>Bad gateway</title></html>",
    b'{"items": [' + row().encode() + b"]} trailing",
    b' \n\t{"items": [' + row().encode() + b"]}\r\n",
    b'{"items": [' + row().encode() + b"\x01]}",
]


@pytest.mark.parametrize("body", ODD_BODIES)
def test_the_lean_and_the_careful_reading_agree_on_an_odd_body(body: bytes) -> None:
    agree(body)


def test_an_ordinary_body_is_read_lean(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object) -> None:
        raise AssertionError("read the careful way")

    monkeypatch.setattr(usage_body, "_careful_usage", refuse)
    usage = parse_usage(ORDINARY, START, END)
    assert [r.amount for r in usage.rows] == [Decimal("1.5"), 2, Decimal("0.25")]
    assert usage.api_names == {"a": "Chat", "b": "b"}


def test_rows_of_one_api_share_one_id_string() -> None:
    body = encode_json({"items": [{"date": "2024-08-12", "api_id": "a" * 20, "amount": 1}] * 50})
    usage = parse_usage(body, START, END)
    assert len({id(r.api_id) for r in usage.rows}) == 1


@pytest.mark.parametrize(
    "body",
    [
        body_of(row(), tail=', "total": 9'),
        body_of(row(), tail=', "total": 9, "apis": [1]'),  # read the careful way after all
    ],
)
def test_a_total_that_disagrees_is_logged_once_whichever_way_the_body_is_read(
    body: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    with (
        caplog.at_level(logging.WARNING, logger="reportbot.sources.acedata"),
        contextlib.suppress(FetchError),
    ):
        parse_usage(body, START, END)
    assert len([r for r in caplog.records if "rows sum to" in r.getMessage()]) == 1


def test_a_long_body_is_cut_into_many_slices_between_rows() -> None:
    body = body_of(*(row(api_id=f"api-{n}", amount=f"{n}.5") for n in range(40)))
    payload, slices = usage_lean.lean_body(body)
    decoded = list(slices)
    assert len(decoded) > 10
    assert [r.api_id for chunk in decoded for r in chunk] == [f"api-{n}" for n in range(40)]
    assert payload == {}


TEXT = st.text(alphabet=st.sampled_from('ab}{,]["\\ é\u2028'), max_size=6)
AMOUNTS = st.one_of(
    st.decimals(allow_nan=False, allow_infinity=False, places=4, max_value=10**6, min_value=-9),
    st.integers(min_value=-(10**16), max_value=10**16),
    st.sampled_from(["1E+3", "-0", "2.50", "NaN", " 4 ", "1e-20", "x"]),
    st.none(),
    st.booleans(),
)
ROWS = st.fixed_dictionaries(
    {"date": st.sampled_from(["2024-08-12", "2024-08-01", "2024-08-12T01:00:00Z", "no"])},
    optional={"api_id": st.one_of(TEXT, st.integers()), "amount": AMOUNTS, "note": TEXT},
)


@given(st.lists(ROWS, max_size=12), st.sampled_from(["items", "results"]), st.integers(0, 3))
def test_the_two_readings_agree_on_drawn_bodies(
    rows: list[dict[str, Any]], key: str, spaces: int
) -> None:
    text = encode_json({key: rows, "total": "1"}).decode()
    agree(text.replace(", ", "," + " " * spaces).encode())


@pytest.mark.parametrize("careful", [False, True], ids=["lean", "careful"])
def test_both_readings_keep_the_rows_by_column(careful: bool) -> None:
    read = usage_body._careful_usage if careful else parse_usage
    usage = read(ORDINARY, START, END)
    assert isinstance(usage.rows, UsageRows)
    assert usage.rows == (
        UsageRow(date(2024, 8, 12), "a", Decimal("1.5")),
        UsageRow(date(2024, 8, 13), "b", Decimal(2)),
        UsageRow(date(2024, 8, 14), "a", Decimal("0.25")),
    )
