"""The usage aggregate endpoint's body, checked and read into :class:`~reportbot.core.usage.Usage`.

Both response shapes are accepted: the published ``results``/``api_map``/``name`` and the
console's ``items``/``apis``/``title``. Amounts are Credits, parsed exactly as ``Decimal``
(JSON numbers never pass through float); negative amounts are kept, since refunds exist.
Anything else is a ``FetchError`` naming what was wrong, never a report of zeros.
"""

from __future__ import annotations

import functools
import json
import logging
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, NoReturn

from reportbot.core.usage import Usage, UsageRow
from reportbot.errors import FetchError

log = logging.getLogger("reportbot.sources.acedata")  # one logger for everything the usage API says

DETAIL_LIMIT = 200
AMOUNT_DIGITS = 15  # an amount of 10**15 Credits or more is garbage


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
        raise _bad_body(f"it is not JSON ({one_line(text_of(body), 60) or 'empty'})") from None
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


def one_line(text: str, limit: int = DETAIL_LIMIT) -> str:
    """``text`` without control characters or line breaks, cut to ``limit`` characters."""
    printable = "".join(c if c.isprintable() else " " for c in text[: limit * 4])
    flat = " ".join(printable.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def text_of(body: bytes) -> str:
    text = body[: DETAIL_LIMIT * 20].decode("utf-8", "replace").strip()
    if not text.startswith("<"):
        return text
    title = text.lower().find("<title>")
    if title < 0:
        return "an HTML page"
    return "an HTML page: " + text[title + 7 :].partition("<")[0]
