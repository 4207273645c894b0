from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from reportbot.destinations.base import Progress
from reportbot.ledger.store import Ledger


@pytest.mark.parametrize(
    ("receipt", "expected"),
    [
        (None, Progress()),
        ("1700000001.000100", Progress()),  # a sent row's ts: nothing to resume
        ("partial:2:1700000001.000100", Progress(2, "1700000001.000100")),
        ("partial:3:", Progress(3, None)),
        ("partial:x:1", Progress()),
    ],
)
def test_progress_is_read_back_from_a_receipt(receipt: str | None, expected: Progress) -> None:
    assert Progress.parse(receipt) == expected


def test_progress_only_grows_and_keeps_the_first_receipt() -> None:
    assert Progress(3, "ts-a").advanced(1, "ts-b") == Progress(3, "ts-a")
    assert Progress().advanced(1, "ts-b") == Progress(1, "ts-b")
    assert Progress().advanced(0, None).text is None
    assert Progress.parse(Progress(4, "ts").text) == Progress(4, "ts")


def test_the_ledger_hands_a_failed_attempts_progress_to_the_next_claim(tmp_path: Path) -> None:
    key = ("weekly", "2024-W33", date(2024, 8, 12), date(2024, 8, 18), "slack:#x")
    with Ledger(f"sqlite:///{tmp_path / 'l.db'}") as ledger:
        first = ledger.claim(*key)
        assert first is not None
        assert first.previous_receipt is None
        ledger.mark_failed(first, "boom", progress="partial:2:ts")
        second = ledger.claim(*key)
        assert second is not None
        assert second.previous_receipt == "partial:2:ts"
        ledger.mark_failed(second, "boom again")  # no new progress: the old one stays
        third = ledger.claim(*key)
        assert third is not None
        assert third.previous_receipt == "partial:2:ts"
