"""Money for people: the currency's own number of decimals, its symbol where it has one.

ISO 4217 minor units: most currencies have 2 decimals, some none (JPY, KRW, ...) and a few 3
(KWD, BHD, ...). ``money(1234.5, "JPY")`` is ``¥1,235``, never ``¥1,234.50``; rounding is
half-up, as on an invoice. A negative amount puts the sign before the symbol (``-$1.50``).
The ``money`` template filter is this function.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

ZERO_DECIMALS = frozenset(
    [
        "BIF",
        "CLP",
        "DJF",
        "GNF",
        "ISK",
        "JPY",
        "KMF",
        "KRW",
        "PYG",
        "RWF",
        "UGX",
        "UYI",
        "VND",
        "VUV",
        "XAF",
        "XOF",
        "XPF",
    ]
)
THREE_DECIMALS = frozenset(["BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"])
SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "INR": "₹", "KRW": "₩", "CNY": "CN¥"}


def minor_units(currency: str) -> int:
    """How many decimals ``currency`` is written with."""
    code = currency.upper()
    return 0 if code in ZERO_DECIMALS else 3 if code in THREE_DECIMALS else 2


def money(value: Decimal | None, currency: str = "USD") -> str:
    """``$1,234.50``, ``¥1,235``, ``1,234.500 KWD``; empty for no value."""
    if value is None:
        return ""
    digits = minor_units(currency)
    rounded = value.quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP)
    number = f"{abs(rounded):,.{digits}f}"
    sign = "-" if rounded < 0 else ""
    symbol = SYMBOLS.get(currency.upper())
    return f"{sign}{symbol}{number}" if symbol else f"{sign}{number} {currency}"
