"""The rules for one row's values, shared by the careful and the lean reading of a body.

Amounts are Credits, exact ``Decimal``: refused from 10**15 up (``AMOUNT_DIGITS``), rounded
half-even to 12 places below a pico-credit (``AMOUNT_PLACES``); see reportbot.sources.usage_body.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import ROUND_HALF_EVEN, Context, Decimal, InvalidOperation

from reportbot.core.usage import UsageRow, UsageRows

AMOUNT_DIGITS = 15  # an amount of 10**15 Credits or more is garbage
AMOUNT_PLACES = 12  # an amount below a pico-credit is rounded to 12 places
_QUANTUM = Decimal(1).scaleb(-AMOUNT_PLACES)
_EXACT = Context(prec=AMOUNT_DIGITS + AMOUNT_PLACES + 1, rounding=ROUND_HALF_EVEN)

new_row = tuple.__new__  # UsageRow without its Python-level __new__: a third faster
__all__ = [
    "AMOUNT_DIGITS",
    "AMOUNT_PLACES",
    "DayIndex",
    "Days",
    "Index",
    "UsageRow",
    "UsageRows",
    "amount",
    "new_row",
    "pico",
]


def pico(amount: Decimal) -> Decimal:
    """An amount below a pico-credit (adjusted exponent < -12), rounded to 12 places."""
    return amount.quantize(_QUANTUM, context=_EXACT)


class Days(dict[str, date]):
    """Dates parsed once per distinct string (a period has few dates and many rows)."""

    def __missing__(self, text: str) -> date:
        day = datetime.fromisoformat(text).date()  # TypeError / ValueError: not a date
        self[text] = day
        return day


class Index(dict[str, int]):
    """Each distinct string's place, in order of first appearance (``list(index)``)."""

    def __missing__(self, text: str) -> int:
        place = self[text] = len(self)
        return place


class DayIndex(dict[str, int]):
    """Each distinct date string's place in ``dates``, parsed once (TypeError / ValueError:
    not a date)."""

    def __init__(self) -> None:
        super().__init__()
        self.dates: list[date] = []

    def __missing__(self, text: str) -> int:
        self.dates.append(datetime.fromisoformat(text).date())
        place = self[text] = len(self.dates) - 1
        return place


def amount(value: object) -> Decimal | None:
    """An exact, finite, plausible amount from a JSON number or a numeric string."""
    if isinstance(value, Decimal):
        number = value
    elif isinstance(value, int) and not isinstance(value, bool):
        number = Decimal(value)
    elif isinstance(value, str):
        try:
            number = Decimal(value)
        except InvalidOperation:
            return None
    else:
        return None
    return number if number.is_finite() and number.adjusted() < AMOUNT_DIGITS else None
