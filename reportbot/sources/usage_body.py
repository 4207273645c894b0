"""The usage aggregate endpoint's body, checked and read into :class:`~reportbot.core.usage.Usage`.

Both response shapes are accepted: the published ``results``/``api_map``/``name`` and the
console's ``items``/``apis``/``title``. A body carrying both spellings of one key must say the
same thing in both; a success carrying ``detail`` or ``error`` is the server's error message.

Amounts are Credits, parsed exactly as ``Decimal`` (JSON numbers never pass through float):
- kept exactly as written, except that an amount smaller than a pico-credit (10**-12, see
  ``AMOUNT_PLACES``) is rounded half-even to 12 places: ``1e-999999999`` counts as 0, so no
  figure grows a million digits (every other figure has at most the digits the body had);
- refused from 10**15 Credits up (``AMOUNT_DIGITS``), and NaN/Infinity are refused;
- negative amounts (refunds, credits given back) are kept and summed like any other;
- duplicate rows (the same date and api_id twice) are all kept and added together: the
  endpoint may split a day's spend (by application, say), so a repeated key is not an error.
Anything else is a ``FetchError`` naming what was wrong, never a report of zeros.
"""

from __future__ import annotations

import functools
import json
import logging
from array import array
from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal
from typing import Any, NoReturn

from reportbot.core.usage import Usage, UsageRow, UsageRows
from reportbot.errors import FetchError, printable
from reportbot.sources.usage_lean import Unusual, lean_body, lean_rows
from reportbot.sources.usage_values import AMOUNT_DIGITS as AMOUNT_DIGITS  # re-exported
from reportbot.sources.usage_values import AMOUNT_PLACES as AMOUNT_PLACES  # re-exported
from reportbot.sources.usage_values import Days as _Days
from reportbot.sources.usage_values import amount as _amount
from reportbot.sources.usage_values import new_row as _new_row
from reportbot.sources.usage_values import pico as _pico

log = logging.getLogger("reportbot.sources.acedata")  # one logger for everything the usage API says

DETAIL_LIMIT = 200


def parse_usage(body: bytes, start: date, end: date) -> Usage:
    """The rows of ``start..end`` in an aggregate response; a FetchError if it is not one.

    An ordinary body is read lean (reportbot.sources.usage_lean); any other, and any body
    that is wrong, the careful way here, which says what was wrong.
    """
    try:
        return _lean_usage(body, start, end)
    except (Unusual, FetchError):
        return _careful_usage(body, start, end)


def _lean_usage(body: bytes, start: date, end: date) -> Usage:
    payload, slices = lean_body(body)
    _no_error_message(payload)
    rows, ids = lean_rows(slices)
    total = _total(payload.get("total"))
    names = ids | _names(payload)
    kept = rows if all(start <= day <= end for day in rows.days) else _within(rows, start, end)
    if total is not None:  # last: a body read the careful way after all logs it once
        _check_total(total, rows.amounts, start, end)
    return Usage(kept, names, total)


def _within(rows: UsageRows, start: date, end: date) -> UsageRows:
    """The rows of ``start..end``, by column as ``rows`` are."""
    inside = [start <= day <= end for day in rows.days]
    day_at, id_at, amounts = array("I"), array("I"), list[Decimal]()
    for d, i, amount in zip(rows.day_at, rows.id_at, rows.amounts, strict=True):
        if inside[d]:
            day_at.append(d)
            id_at.append(i)
            amounts.append(amount)
    return UsageRows(rows.days, rows.api_ids, day_at, id_at, amounts)


def _careful_usage(body: bytes, start: date, end: date) -> Usage:
    payload = _json_object(body)
    _no_error_message(payload)
    rows = _rows(_items(payload))
    total = _total(payload.get("total"))
    if total is not None:
        _check_total(total, (row.amount for row in rows), start, end)
    kept = UsageRows.of(row for row in rows if start <= row.day <= end)
    names = {row.api_id: row.api_id for row in rows} | _names(payload)
    return Usage(kept, names, total)


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        payload = json.loads(body, parse_float=Decimal, parse_constant=_no_constant)
    except (ValueError, RecursionError):
        raise _bad_body(f"it is not JSON ({one_line(text_of(body), 60) or 'empty'})") from None
    if not isinstance(payload, dict):
        raise _bad_body(f"it is {_show(payload)}, not an object")
    return payload


def _no_error_message(payload: dict[str, Any]) -> None:
    """A success whose body is an error message (``detail`` or ``error``) is that error."""
    said = server_message(payload)
    if said is not None:
        raise FetchError(
            f"the usage API answered with an error instead of usage: {said or 'no message'}"
        )


def server_message(payload: object) -> str | None:
    """The message of ``{"detail": ...}`` or ``{"error": {"code", "message"}}``, printable."""
    if not isinstance(payload, dict):
        return None
    error, detail = payload.get("error"), payload.get("detail")
    if not error and not detail:  # absent, null, "" or false: no error
        return None
    if isinstance(error, dict):
        parts = [error.get(key) for key in ("code", "message")]
        return one_line(": ".join(str(part) for part in parts if part))
    said = detail or error
    return one_line(said if isinstance(said, str) else json.dumps(said, default=str))


def _no_constant(name: str) -> NoReturn:
    raise _bad_body(f"it contains {name}, which is not a number")


def _items(payload: dict[str, Any]) -> list[Any]:
    _one_meaning(payload, "items", "results", payload.get("items"), payload.get("results"))
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
        adjusted = amount.adjusted()
        if adjusted >= AMOUNT_DIGITS:
            raise _bad_body(_row_problem(len(rows) + 1, item))
        if adjusted < -AMOUNT_PLACES:
            amount = _pico(amount)
        append(_new_row(UsageRow, (day, api_id, amount)))
    return rows


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


def _total(value: object) -> Decimal | None:
    if value is None:
        return None
    total = _amount(value)
    if total is None:
        raise _bad_body(f"'total' is not a number: {_show(value)}")
    return _pico(total) if total.adjusted() < -AMOUNT_PLACES else total


def _check_total(total: Decimal, amounts: Iterable[Decimal], start: date, end: date) -> None:
    summed = sum(amounts, Decimal(0))
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
    names = _name_map(key, apis)
    if key == "apis" and payload.get("api_map") is not None:
        _one_meaning(payload, "apis", "api_map", names, _name_map("api_map", payload["api_map"]))
    return names


def _name_map(key: str, apis: object) -> dict[str, str]:
    if not isinstance(apis, dict):
        raise _bad_body(f"'{key}' is {_show(apis)}, not an object")
    return {api_id: name for api_id, entry in apis.items() if (name := _name(entry))}


def _one_meaning(payload: dict[str, Any], key: str, other: str, one: object, two: object) -> None:
    """Both spellings of a key may be present only if they say the same."""
    if key in payload and other in payload and one != two:
        raise _bad_body(f"it has both '{key}' and '{other}' and they disagree")


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


def one_line(text: str, limit: int = DETAIL_LIMIT) -> str:
    """``text`` without escape sequences, controls or line breaks, cut to ``limit`` characters."""
    return printable(text, limit)


def text_of(body: bytes) -> str:
    text = body[: DETAIL_LIMIT * 20].decode("utf-8", "replace").strip()
    if not text.startswith("<"):
        return text
    title = text.lower().find("<title>")
    if title < 0:
        return "an HTML page"
    return "an HTML page: " + text[title + 7 :].partition("<")[0]
