"""An aggregate body read without its whole JSON tree: the rows a slice at a time (msgspec).

A large period's body is 100 MB of rows, and its tree of dicts, strings and numbers, decoded
whole, is six times that. Here the top level is decoded with each value left as its raw bytes
(zero-copy), the few values beside the rows are read by ``json`` as the careful reading reads
them, and the rows' array is decoded about ``SLICE_BYTES`` at a time into small typed structs.
A slice is cut only after a ``}`` followed by a comma; a cut anywhere but between two rows
leaves the slice with an unclosed object or string, and it does not decode.

Only a body that the careful reading (reportbot.sources.usage_body) would read the same way
passes: strict UTF-8 JSON, an object with one of ``items``/``results`` holding an array of
objects with exactly the keys ``date``, ``api_id`` and ``amount``. Anything else raises
``Unusual``, and the body is read the careful way, which also words every error.
"""

from __future__ import annotations

import json
import re
from array import array
from collections.abc import Iterator
from decimal import Decimal
from typing import Any, NoReturn

import msgspec

from reportbot.sources.usage_values import (
    AMOUNT_DIGITS,
    AMOUNT_PLACES,
    DayIndex,
    Index,
    UsageRows,
    amount,
    pico,
)

SLICE_BYTES = 1 << 20  # about 12,000 rows: their structs are a few MB at a time


class Unusual(Exception):
    """Not a body this reading vouches for: read it the careful way."""


class LeanRow(msgspec.Struct, gc=False, forbid_unknown_fields=True):
    date: str
    api_id: str
    amount: Any  # as json.loads(parse_float=Decimal) reads it: int, Decimal, str, ...


Slices = Iterator[list[LeanRow]]

_TOP = msgspec.json.Decoder(dict[str, msgspec.Raw])
_ROWS = msgspec.json.Decoder(list[LeanRow], float_hook=Decimal)
_ROW_END = re.compile(rb"\}[ \t\n\r]*,")
_DECODE_ERRORS = (msgspec.DecodeError, msgspec.ValidationError, RecursionError)


def lean_body(body: bytes) -> tuple[dict[str, Any], Slices]:
    """The top-level values beside the rows, and the rows slice by slice; or Unusual."""
    try:
        top = _TOP.decode(body)
    except _DECODE_ERRORS:
        raise Unusual from None
    if ("items" in top) == ("results" in top):
        raise Unusual  # both spellings, or neither: the careful reading says what is wrong
    key = "items" if "items" in top else "results"
    payload = {name: _value(raw) for name, raw in top.items() if name != key}
    return payload, _slices(memoryview(top[key]))


def lean_rows(slices: Slices) -> tuple[UsageRows, dict[str, str]]:
    """The rows as the careful reading reads them, by column (each api_id and date string
    kept once) and the ids ``{id: id}`` in order of appearance; Unusual where it would refuse.
    """
    days, ids = DayIndex(), Index()
    day_at, id_at, amounts = array("I"), array("I"), list[Decimal]()
    add_day, add_id, add_amount = day_at.append, id_at.append, amounts.append
    for chunk in slices:
        for item in chunk:
            try:
                day = days[item.date]
            except ValueError:
                raise Unusual from None
            api_id, value = item.api_id, item.amount
            number = value if type(value) is Decimal else amount(value)
            if number is None or not api_id or number.adjusted() >= AMOUNT_DIGITS:
                raise Unusual
            if number.adjusted() < -AMOUNT_PLACES:
                number = pico(number)
            add_day(day)
            add_id(ids[api_id])
            add_amount(number)
    rows = UsageRows(days.dates, tuple(ids), day_at, id_at, amounts)
    return rows, {api_id: api_id for api_id in rows.api_ids}


def _value(raw: msgspec.Raw) -> Any:
    try:
        return json.loads(bytes(raw), parse_float=Decimal, parse_constant=_unusual)
    except (ValueError, RecursionError):
        raise Unusual from None


def _unusual(name: str) -> NoReturn:
    raise Unusual


def _slices(rows: memoryview) -> Slices:
    """The array's rows, decoded one slice at a time (``rows`` is the array's raw bytes)."""
    if bytes(rows[:1]) != b"[":
        raise Unusual
    start, end = 1, len(rows) - 1  # between the brackets
    while True:
        cut = _ROW_END.search(rows, start + SLICE_BYTES, end) if end - start > SLICE_BYTES else None
        stop = end if cut is None else cut.start() + 1
        try:
            decoded = _ROWS.decode(b"".join((b"[", rows[start:stop], b"]")))
        except _DECODE_ERRORS:
            raise Unusual from None
        if not decoded and (cut is not None or start > 1):
            raise Unusual  # an empty slice after a comma: a trailing comma, which JSON refuses
        yield decoded
        if cut is None:
            return
        start = cut.end()
