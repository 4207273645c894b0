"""Per-API, per-day sums of a period and the one before it: the hot loop of a large report.

The figures are those of the plain computation (careful_sums), to the digit and the exponent:
each (API, day) cell is ``0 + a + b + …`` over its rows in row order, every total ``0 +`` its
cells, all in the caller's context (80 digits in compute_report). The fast reading
(period_sums) differs in two ways, neither of which can change a figure:

- A cell's first row is kept as it is (no new Decimal for a million one-row cells) when
  ``0 + a`` would write it the same way: not a zero, and ``0 + a`` has the same exponent,
  i.e. the exponent is at most 0 and ``a`` fits the precision (``1E+3``, ``-0`` and an amount
  longer than the precision are stored as ``0 + a``, exactly as before).
- Totals are summed per API in day order, not in the order the rows first named each day.
  Summation order only matters when a partial sum is rounded. Each partial sum in *any*
  order is a sum of some of the cells: its magnitude is below ``n × 10**(A + 1)`` (n cells,
  A the largest adjusted exponent of a cell) and its exponent is at least E, the smallest
  exponent of a cell, which is the exponent of the exact total. So when
  ``A + 1 - E + digits(n)`` fits the precision no order rounds and all orders agree; when it
  does not, or a sum did round, or the context rounds towards -∞ (where the sign of an exact
  zero depends on the order), the sums are made the plain way.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_FLOOR, Decimal, Rounded, getcontext

from reportbot.core.usage import UsageRow, UsageRows

ZERO = Decimal(0)
ApiSums = tuple[str, tuple[Decimal, ...], Decimal, Decimal]  # id, daily, total, previous


@dataclass(frozen=True, slots=True)
class PeriodSums:
    apis: list[ApiSums]  # every API with a row in either period
    total: Decimal
    previous_total: Decimal
    daily_totals: tuple[Decimal, ...]
    previous_daily_totals: tuple[Decimal, ...]


def period_sums(
    rows: Iterable[UsageRow], days: Sequence[date], before: Sequence[date]
) -> PeriodSums:
    """The sums of ``days`` (the period) and ``before`` (the previous one), in the context."""
    context = getcontext()
    if context.rounding == ROUND_FLOOR:
        return careful_sums(rows, days, before)
    grid = _grid(rows, days, before)
    context.flags[Rounded] = False
    sums = _totals(grid, len(before), len(days))
    if context.flags[Rounded] or not _order_free(grid, sums, context.prec):
        return careful_sums(rows, days, before)
    return sums


def _grid(
    rows: Iterable[UsageRow], days: Sequence[date], before: Sequence[date]
) -> dict[str, list[Decimal]]:
    """Per API a list of cells: ``before``'s days, then ``days``' (ZERO: no row)."""
    index = {day: i for i, day in enumerate(before)}
    index.update((day, len(before) + i) for i, day in enumerate(days))  # the period wins
    return cell_grid(UsageRows.of(rows), index, len(before) + len(days))


def cell_grid(
    rows: UsageRows, index: dict[date, int], width: int, totals: list[Decimal] | None = None
) -> dict[str, list[Decimal]]:
    """Per API ``width`` cells, ``cells[index[day]]`` being ``0 + a + b + …`` over that day's
    rows in row order (ZERO: no row; days not in ``index`` are left out). A cell's first row
    is kept as it is when ``0 + a`` writes it the same way (see the module). With ``totals``,
    each row is also added to ``totals[index[day]]``, in row order."""
    grid: dict[str, list[Decimal]] = {}
    slots = [index.get(day) for day in rows.days]
    lists: list[list[Decimal] | None] = [None] * len(rows.api_ids)
    for d, k, amount in zip(rows.day_at, rows.id_at, rows.amounts, strict=True):
        i = slots[d]
        if i is None:
            continue
        if totals is not None:
            totals[i] += amount
        cells = lists[k]
        if cells is None:
            cells = lists[k] = grid.setdefault(rows.api_ids[k], [ZERO] * width)
        cell = cells[i]
        if cell is ZERO:  # the first row (a sum is never the ZERO object itself)
            cell = ZERO + amount
            cells[i] = amount if amount and amount.same_quantum(cell) else cell
        else:
            cells[i] = cell + amount
    return grid


def _totals(grid: dict[str, list[Decimal]], split: int, width: int) -> PeriodSums:
    apis: list[ApiSums] = []
    for api_id, cells in grid.items():
        current = cells[split:]
        apis.append((api_id, tuple(current), sum(current, ZERO), sum(cells[:split], ZERO)))
    columns = list(zip(*grid.values(), strict=True)) or [()] * (split + width)
    return PeriodSums(
        apis=apis,
        total=sum((line[2] for line in apis), ZERO),
        previous_total=sum((line[3] for line in apis), ZERO),
        daily_totals=tuple(sum(column, ZERO) for column in columns[split:]),
        previous_daily_totals=tuple(sum(column, ZERO) for column in columns[:split]),
    )


def _order_free(grid: dict[str, list[Decimal]], sums: PeriodSums, precision: int) -> bool:
    """No sum of these cells, in any order, needs more than ``precision`` digits."""
    if not (sums.total.is_finite() and sums.previous_total.is_finite()):
        return False
    if not grid:
        return True
    largest = max(max(map(Decimal.adjusted, cells)) for cells in grid.values())
    smallest = min(_exponent(sums.total), _exponent(sums.previous_total))
    count = len(grid) * len(next(iter(grid.values())))
    return largest + 1 - smallest + len(str(count)) <= precision


def _exponent(total: Decimal) -> int:
    exponent = total.as_tuple().exponent
    assert isinstance(exponent, int)  # a finite total
    return exponent


Sums = dict[str, dict[date, Decimal]]


def careful_sums(
    rows: Iterable[UsageRow], days: Sequence[date], before: Sequence[date]
) -> PeriodSums:
    """The plain computation: a dict of days per API, totals in the order days were named."""
    current, previous = _daily_sums(rows, days, before)
    apis = [
        (
            api_id,
            tuple(current.get(api_id, {}).get(day, ZERO) for day in days),
            sum(current.get(api_id, {}).values(), ZERO),
            sum(previous.get(api_id, {}).values(), ZERO),
        )
        for api_id in current.keys() | previous.keys()
    ]
    return PeriodSums(
        apis=apis,
        total=sum((sum(d.values(), ZERO) for d in current.values()), ZERO),
        previous_total=sum((sum(d.values(), ZERO) for d in previous.values()), ZERO),
        daily_totals=_column_totals(current, days),
        previous_daily_totals=_column_totals(previous, before),
    )


def _daily_sums(
    rows: Iterable[UsageRow], days: Sequence[date], before: Sequence[date]
) -> tuple[Sums, Sums]:
    sums: tuple[Sums, Sums] = ({}, {})
    (c_start, c_end), (p_start, p_end) = (days[0], days[-1]), (before[0], before[-1])
    for day, api_id, amount in rows:
        if c_start <= day <= c_end:
            target = sums[0]
        elif p_start <= day <= p_end:
            target = sums[1]
        else:
            continue
        by_day = target.get(api_id)
        if by_day is None:
            by_day = target[api_id] = {}
        by_day[day] = by_day.get(day, ZERO) + amount
    return sums


def _column_totals(sums: Sums, days: Sequence[date]) -> tuple[Decimal, ...]:
    totals = dict.fromkeys(days, ZERO)
    for by_day in sums.values():
        for day, amount in by_day.items():
            totals[day] += amount
    return tuple(totals.values())
