"""The usage side of a run: where rows come from, the one query, and a run's result."""

from __future__ import annotations

import gc
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Protocol

from reportbot.config import ReportConfig
from reportbot.core.periods import Period
from reportbot.core.report import Report
from reportbot.core.usage import Usage
from reportbot.delivery.loop import Outcome
from reportbot.errors import ReportbotError

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

    from reportbot.render.rendered import RenderedReport


class UsageSource(Protocol):
    def fetch(
        self,
        start: date,
        end: date,
        zone: ZoneInfo,
        *,
        application_id: str | None = None,
        api_ids: Sequence[str] = (),
        user_id: str | None = None,
    ) -> Usage: ...


@dataclass
class RunResult:
    report: str
    period: Period | None = None
    outcomes: list[Outcome] = field(default_factory=list)
    error: ReportbotError | None = None
    rendered: RenderedReport | None = None
    note: str = ""  # said when there are no outcomes (an alert check where nothing fired)

    @property
    def built(self) -> Report | None:
        return self.rendered.report if self.rendered else None

    @property
    def exit_status(self) -> int:
        if self.error is not None:
            return self.error.exit_status
        return 1 if any(o.failed for o in self.outcomes) else 0


def fetch_usage(source: UsageSource, report: ReportConfig, start: date, end: date) -> Usage:
    """The report's usage of local days ``start..end``, with its filters."""
    return source.fetch(
        start,
        end,
        report.zone,
        application_id=report.application_id,
        api_ids=report.api_ids,
        user_id=report.user_id,
    )


@contextmanager
def paused_gc() -> Iterator[None]:
    """No cyclic garbage collection while a period's rows are parsed and summed.

    That step allocates 100,000s of small acyclic objects, which only make the collector
    run again and again (a fifth of the time of a large period); it runs once afterwards.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
