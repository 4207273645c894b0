"""Money in each currency's own decimals (the ``money`` template filter)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from reportbot.render.money import minor_units, money


@pytest.mark.parametrize(
    ("value", "currency", "shown"),
    [
        ("1234.5", "USD", "$1,234.50"),
        ("0.095215", "USD", "$0.10"),
        ("1234.5", "EUR", "€1,234.50"),
        ("1234.5", "GBP", "£1,234.50"),
        ("1234.5", "JPY", "¥1,235"),
        ("1234.4", "JPY", "¥1,234"),
        ("0.5", "JPY", "¥1"),  # half-up, as on an invoice
        ("98765.4321", "KRW", "₩98,765"),
        ("1234.5", "CLP", "1,235 CLP"),
        ("1234.5", "VND", "1,235 VND"),
        ("1234.5", "KWD", "1,234.500 KWD"),
        ("1.2345", "BHD", "1.235 BHD"),
        ("1234.5", "CHF", "1,234.50 CHF"),
        ("-1.5", "USD", "-$1.50"),
        ("-1234.5", "JPY", "-¥1,235"),
        ("-0.001", "USD", "$0.00"),  # rounds to zero: no "-$0.00"
        ("0", "JPY", "¥0"),
        ("2.675", "USD", "$2.68"),  # exact Decimal, no float surprise
    ],
)
def test_money_uses_the_currencys_own_decimals(value: str, currency: str, shown: str) -> None:
    assert money(Decimal(value), currency) == shown


def test_no_value_is_shown_as_nothing() -> None:
    assert money(None, "JPY") == ""


@pytest.mark.parametrize(("currency", "digits"), [("USD", 2), ("jpy", 0), ("KWD", 3), ("XYZ", 2)])
def test_minor_units_follow_iso_4217(currency: str, digits: int) -> None:
    assert minor_units(currency) == digits
