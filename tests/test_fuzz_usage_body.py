"""A standing fuzz suite for the usage body: hostile bodies give a correct report or one error.

Every body hypothesis draws ends one of two ways:
- a report whose totals equal an independent sum (``Fraction`` arithmetic; amounts below a
  pico-credit rounded to twelve places half-even by hand) of each period's rows, whose renders
  stay within a fixed multiple of the body's size;
- one ``FetchError``: one printable line of bounded length.
Never another exception, never silent zeros. ``HYPOTHESIS_PROFILE=explore`` draws more.
"""

from __future__ import annotations

import json
import re
from datetime import date
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from reportbot.core.periods import parse_period
from reportbot.core.report import Report, compute_report
from reportbot.errors import FetchError
from reportbot.render.csv_export import usage_csv
from reportbot.render.templates import render_text
from reportbot.sources.usage_body import parse_usage
from tests.fakes.usage_api import encode_json

PERIOD = parse_period("2024-W33", date(2024, 9, 3))  # Aug 12-18, against Aug 5-11
PREVIOUS = PERIOD.previous()
OUTPUT_FACTOR, OUTPUT_SLACK = 40, 40_000  # rendered bytes <= factor * body bytes + slack
MESSAGE_LIMIT = 400

DAYS = [
    "2024-08-04",  # before the fetched range: dropped
    "2024-08-05",
    "2024-08-11",
    "2024-08-12",
    "2024-08-15",
    "2024-08-18",
    "2024-08-19",  # after: dropped
    "2024-08-12T23:30:00+02:00",  # a datetime counts on the date it is written with
    "2024-08-11T00:00:00Z",
]
HOSTILE_NAMES = [
    "<!channel>",
    "<https://evil.example|click>",
    "*bold* _it_ ~s~ `code`",
    "<script>alert(1)</script>",
    "a\r\nBcc: victim@example.com",
    "{{ 7*7 }}{% raw %}",
    "\u202eevil\u2066x\u2069",
    "zero\u200bwidth",
    "c1\x85\x9bcontrols\x1b[31m",
    '=HYPERLINK("http://x")',
    "\uff1d1+1",
    "  =1+1",
    "x" * 10_000,
]


def credits(amount: Decimal) -> Decimal:
    """The amount reportbot must count: exact, or rounded half-even to 12 places below 1e-12."""
    if amount == 0 or abs(amount) >= Decimal("1e-12"):
        return amount
    if amount.adjusted() < -14:  # far below half a pico-credit: zero (Fraction would not end)
        return Decimal(0)
    return Decimal(round(Fraction(amount) * 10**12)).scaleb(-12)


def oracle_total(rows: list[dict[str, Any]], start: date, end: date) -> Decimal:
    total = Fraction(0)
    for row in rows:
        if start <= date.fromisoformat(row["date"][:10]) <= end:
            total += Fraction(credits(Decimal(str(row["amount"]))))
    return Decimal(total.numerator) / Decimal(total.denominator)


def built(body: bytes) -> Report | str:
    """The report of the body, or the message of the one FetchError it gave."""
    try:
        usage = parse_usage(body, PREVIOUS.start, PERIOD.end)
    except FetchError as exc:
        message = str(exc)
        assert message.isprintable(), message
        assert len(message) <= MESSAGE_LIMIT
        return message
    return compute_report("fuzz", PERIOD, usage, top=5)


def assert_bounded_output(report: Report, body: bytes) -> None:
    rendered = len(render_text(report).encode()) + len(usage_csv(report))
    assert rendered <= OUTPUT_FACTOR * len(body) + OUTPUT_SLACK


# --- well-formed rows with hostile values ----------------------------------------------------

mantissas = st.integers(min_value=-(10**16), max_value=10**16)
exponents = st.integers(min_value=-40, max_value=6) | st.sampled_from([-999_999_999, 400])
amounts = st.builds(lambda m, e: Decimal(f"{m}E{e}"), mantissas, exponents) | st.sampled_from(
    [Decimal("1e-999999999"), Decimal("-0"), Decimal("0.0000000000005"), Decimal("-12.5")]
)
rows = st.fixed_dictionaries(
    {
        "date": st.sampled_from(DAYS),
        "api_id": st.sampled_from(["a", "b", "c"]) | st.text(min_size=1, max_size=20),
        "amount": amounts,
    }
)
names = st.dictionaries(
    st.sampled_from(["a", "b", "c"]), st.sampled_from(HOSTILE_NAMES) | st.text(), max_size=3
)


def body_of(
    drawn: list[dict[str, Any]], spelling: str, as_strings: bool, total: str, api_names: Any
) -> bytes:
    shown = [row | {"amount": str(row["amount"])} for row in drawn] if as_strings else drawn
    payload: dict[str, Any] = {}
    for key in ("items", "results") if spelling == "both" else (spelling,):
        payload[key] = shown
    if total == "right":
        payload["total"] = sum((credits(r["amount"]) for r in drawn), Decimal(0))
    elif total == "wrong":
        payload["total"] = Decimal("123.45")
    payload["apis" if spelling != "results" else "api_map"] = {
        api_id: {"title" if spelling != "results" else "name": name}
        for api_id, name in api_names.items()
    }
    return encode_json(payload)


@given(
    drawn=st.lists(rows, max_size=25),
    spelling=st.sampled_from(["items", "results", "both"]),
    as_strings=st.booleans(),
    total=st.sampled_from(["right", "wrong", "absent"]),
    api_names=names,
)
@example(
    drawn=[{"date": "2024-08-12", "api_id": "a", "amount": Decimal("1e-999999999")}],
    spelling="items",
    as_strings=False,
    total="absent",
    api_names={},
)
def test_well_formed_rows_give_the_exact_totals_or_refuse_an_implausible_amount(
    drawn: list[dict[str, Any]],
    spelling: str,
    as_strings: bool,
    total: str,
    api_names: dict[str, str],
) -> None:
    body = body_of(drawn, spelling, as_strings, total, api_names)
    outcome = built(body)

    implausible = any(row["amount"].adjusted() >= 15 for row in drawn)
    if implausible:
        assert isinstance(outcome, str)
        assert "has an amount that is not a number of Credits" in outcome
        return
    assert isinstance(outcome, Report), outcome
    assert outcome.total == oracle_total(drawn, PERIOD.start, PERIOD.end)
    assert outcome.previous_total == oracle_total(drawn, PREVIOUS.start, PREVIOUS.end)
    assert sum(outcome.daily_totals, Decimal(0)) == outcome.total
    assert_bounded_output(outcome, body)


# --- anything anywhere -----------------------------------------------------------------------

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
    | st.sampled_from(["NaN", "Infinity", "-1e999", "1e-999999999", "2024-08-12", "1.5"]),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=10,
)
any_row = st.fixed_dictionaries(
    {},
    optional={
        "date": st.sampled_from(DAYS) | json_values,
        "api_id": st.sampled_from(["a", "b"]) | json_values,
        "amount": amounts | json_values,
    },
)
any_payload = st.fixed_dictionaries(
    {},
    optional={
        "items": st.lists(any_row | json_values, max_size=5) | json_values,
        "results": st.lists(any_row, max_size=5) | json_values,
        "total": amounts | json_values,
        "apis": st.dictionaries(st.text(max_size=4), json_values, max_size=3) | json_values,
        "api_map": json_values,
        "detail": json_values,
        "error": json_values,
    },
)


def contradicts(payload: dict[str, Any]) -> bool:
    """Both row keys, of different kinds or lengths (``[]`` beside rows, say)."""
    if "items" not in payload or "results" not in payload:
        return False
    items, results = payload["items"], payload["results"]
    if isinstance(items, list) and isinstance(results, list):
        return len(items) != len(results)
    return type(items) is not type(results)


@given(any_payload)
def test_any_json_in_any_position_gives_a_consistent_report_or_one_error(
    payload: dict[str, Any],
) -> None:
    body = encode_json(payload)
    outcome = built(body)

    if contradicts(payload) or payload.get("detail") or payload.get("error"):
        assert isinstance(outcome, str), "a contradiction or an error message became a report"
    if isinstance(outcome, str):
        assert outcome.startswith("the usage API ")
        return
    usage = parse_usage(body, PREVIOUS.start, PERIOD.end)
    assert outcome.total == sum(
        (Fraction(r.amount) for r in usage.rows if PERIOD.start <= r.day <= PERIOD.end), Fraction(0)
    )
    for row in usage.rows:
        assert row.amount.is_finite() and abs(row.amount) < 10**15
        assert abs(row.amount) >= Decimal("1e-12") or row.amount.as_tuple().exponent >= -12  # type: ignore[operator]
        assert PREVIOUS.start <= row.day <= PERIOD.end
    assert_bounded_output(outcome, body)


def mutated(body: bytes, cut: int, junk: bytes) -> bytes:
    return body[: cut % (len(body) + 1)] + junk


GOOD = encode_json(
    {"items": [{"date": "2024-08-12", "api_id": "a", "amount": Decimal("1.5")}], "total": 1.5}
)


@given(
    st.binary(max_size=200)
    | st.builds(mutated, st.just(GOOD), st.integers(0, 200), st.binary(max_size=8))
    | st.sampled_from(
        [
            b"",
            b"   ",
            b"<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head></html>",
            b"\xef\xbb\xbf" + GOOD,
            b"[" * 50_000,
            b'{"items": [' + b'{"date": "2024-08-12", "api_id": "a", "amount": 1},' * 2000 + b"]}",
            b'{"items": [], "items": [{"date": "2024-08-12", "api_id": "a", "amount": 1}]}',
            b'{"items": [{"date": "2024-08-12", "api_id": "a", "amount": 1e99999999999}]}',
        ]
    )
)
def test_any_bytes_give_a_report_or_one_error(body: bytes) -> None:
    outcome = built(body)
    if isinstance(outcome, Report):
        assert_bounded_output(outcome, body)


@pytest.mark.parametrize(
    ("rows", "total"),
    [
        ([("2024-08-12", "a", "5"), ("2024-08-12", "a", "5")], Decimal(10)),  # duplicates add up
        ([("2024-08-12", "a", "5"), ("2024-08-13", "b", "-7.25")], Decimal("-2.25")),  # refund
        ([("2024-08-12", "a", "-3")], Decimal(-3)),  # a period of refunds only
    ],
)
def test_duplicate_rows_add_up_and_refunds_are_negative_amounts(
    rows: list[tuple[str, str, str]], total: Decimal
) -> None:
    body = json.dumps(
        {"items": [{"date": d, "api_id": a, "amount": m} for d, a, m in rows]}
    ).encode()
    report = built(body)
    assert isinstance(report, Report)
    assert report.total == total
    text = render_text(report)
    assert "-" in text
    shares = [float(p) for p in re.findall(r"\s(-?[\d.]+)%\s", text)]  # only sensible shares
    assert all(-100 <= p <= 100 for p in shares), text
