"""When reports run: crontab triggers in a report's zone, what is due, the retry backoff.

Pure functions of a report and a clock reading, tested without a scheduler. A next run is
worked out without APScheduler when the zone's UTC offset does not change before it
(reportbot.core.next_fire), else asked of the trigger the scheduler fires by
(reportbot.service.cron_trigger), which is then imported.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta, tzinfo
from typing import TYPE_CHECKING

from reportbot.core.next_fire import plain_next_fire
from reportbot.core.periods import Period, local_midnight_utc

if TYPE_CHECKING:
    from reportbot.config import ReportConfig
    from reportbot.service.cron_trigger import LocalCronTrigger

Clock = Callable[[], datetime]
RETRY_FIRST = timedelta(minutes=5)
RETRY_FIRST_PERMANENT = timedelta(hours=1)  # needs the user: no point asking every 5 min
RETRY_MAX = timedelta(hours=6)


def report_trigger(report: ReportConfig) -> LocalCronTrigger:
    from reportbot.service.cron_trigger import LocalCronTrigger

    return LocalCronTrigger(**report.cron.trigger_fields(), timezone=report.zone)


RECHECK_HOUR = 11  # local time: a day's late data has mostly arrived by then


def recheck_trigger(report: ReportConfig) -> LocalCronTrigger:
    """Once a day, in the report's zone: look again at the latest period sent."""
    from reportbot.service.cron_trigger import LocalCronTrigger

    return LocalCronTrigger(hour=RECHECK_HOUR, minute=17, timezone=report.zone)


def next_run(report: ReportConfig, now: datetime) -> datetime | None:
    """The report's next scheduled run after ``now``, in its zone."""
    fire = plain_next_fire(report.cron, report.zone, now)
    if fire is None:  # an offset change comes first: the trigger's own rules apply
        fire = report_trigger(report).get_next_fire_time(None, now.astimezone(report.zone))
    # Through UTC: a time in a spring gap comes back as the skipped wall time (02:30 CET).
    return fire.astimezone(UTC).astimezone(report.zone) if fire else None


def is_due(report: ReportConfig, period: Period, now: datetime) -> bool:
    """Whether the report's schedule has fired since ``period`` ended (so it is owed)."""
    closed = local_midnight_utc(period.end + timedelta(days=1), report.zone)
    first = next_run(report, closed)
    return first is not None and first.astimezone(UTC) <= now.astimezone(UTC)


def retry_delay(failed_runs: int, *, permanent: bool = False) -> timedelta:
    """5, 10, 20, 40 ... minutes after the 1st, 2nd, 3rd, 4th ... failed run; at most 6 h.

    A permanent failure (unknown channel, refused login: the user has to act) is retried
    on the slow schedule: 1, 2, 4, 6, 6 ... hours.
    """
    first = RETRY_FIRST_PERMANENT if permanent else RETRY_FIRST
    return min(first * (1 << min(max(failed_runs, 1) - 1, 16)), RETRY_MAX)


def local_time(moment: datetime, zone: tzinfo) -> str:
    return f"{moment.astimezone(UTC).astimezone(zone):%a %Y-%m-%d %H:%M %Z}"
