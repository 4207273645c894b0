"""What the usage aggregate endpoint (or the demo source) returns, parsed and typed."""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import NamedTuple, overload


class UsageRow(NamedTuple):
    """Credits one API spent on one local day."""

    day: date
    api_id: str
    amount: Decimal


_new_row = tuple.__new__


class UsageRows(Sequence[UsageRow]):
    """Rows kept by column, for the million rows of a large period: row ``i`` is
    ``UsageRow(days[day_at[i]], api_ids[id_at[i]], amounts[i])``, made when it is read.

    It reads, compares and hashes as the tuple of those rows; a row costs its Decimal and
    16 bytes (two ``array("I")`` places and a list slot) instead of a tuple of its own
    (64 bytes) and its slot in the tuple of rows.
    """

    __slots__ = ("amounts", "api_ids", "day_at", "days", "id_at")

    def __init__(
        self,
        days: Sequence[date],
        api_ids: Sequence[str],
        day_at: array[int],
        id_at: array[int],
        amounts: list[Decimal],
    ) -> None:
        if not len(day_at) == len(id_at) == len(amounts):
            raise ValueError("the columns of UsageRows differ in length")
        self.days, self.api_ids = tuple(days), tuple(api_ids)
        self.day_at, self.id_at, self.amounts = day_at, id_at, amounts

    @classmethod
    def of(cls, rows: Iterable[UsageRow]) -> UsageRows:
        """``rows`` by column (the same object when they already are)."""
        if isinstance(rows, UsageRows):
            return rows
        days: dict[date, int] = {}
        ids: dict[str, int] = {}
        day_at, id_at, amounts = array("I"), array("I"), []
        for day, api_id, amount in rows:
            day_at.append(days.setdefault(day, len(days)))
            id_at.append(ids.setdefault(api_id, len(ids)))
            amounts.append(amount)
        return cls(tuple(days), tuple(ids), day_at, id_at, amounts)

    def __len__(self) -> int:
        return len(self.amounts)

    def __iter__(self) -> Iterator[UsageRow]:
        days, ids = self.days, self.api_ids
        for d, i, amount in zip(self.day_at, self.id_at, self.amounts, strict=True):
            yield _new_row(UsageRow, (days[d], ids[i], amount))

    @overload
    def __getitem__(self, index: int) -> UsageRow: ...
    @overload
    def __getitem__(self, index: slice) -> tuple[UsageRow, ...]: ...
    def __getitem__(self, index: int | slice) -> UsageRow | tuple[UsageRow, ...]:
        if isinstance(index, slice):
            return tuple(self)[index]
        amount = self.amounts[index]  # IndexError as a tuple's
        return UsageRow(self.days[self.day_at[index]], self.api_ids[self.id_at[index]], amount)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, UsageRows | tuple):
            return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))
        return NotImplemented

    def __hash__(self) -> int:
        return hash(tuple(self))

    def __repr__(self) -> str:
        return f"UsageRows({tuple(self)!r})"


@dataclass(frozen=True, slots=True)
class Usage:
    """All rows of one request, the API names the response carried, and its own total."""

    rows: Sequence[UsageRow]  # a tuple, or UsageRows for a parsed body
    api_names: dict[str, str] = field(default_factory=dict)
    reported_total: Decimal | None = None
