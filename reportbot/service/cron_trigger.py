"""APScheduler's crontab trigger in a report's zone, fired once per local wall time.

Imported only where a trigger is built (the scheduler, and a next run near a change of the
zone's UTC offset): the read-only commands compute plain next runs without APScheduler.
"""

from __future__ import annotations

from datetime import datetime

from apscheduler.triggers.cron import CronTrigger


class LocalCronTrigger(CronTrigger):  # type: ignore[misc]
    """A CronTrigger that fires once per local wall time, also when the clocks go back."""

    def get_next_fire_time(
        self, previous_fire_time: datetime | None, now: datetime
    ) -> datetime | None:
        fire: datetime | None = super().get_next_fire_time(previous_fire_time, now)
        while fire is not None and _repeated_wall_time(fire):
            fire = super().get_next_fire_time(fire, fire)
        return fire


def _repeated_wall_time(moment: datetime) -> bool:
    """The second occurrence of a local time that an autumn change makes happen twice."""
    return moment.fold == 1 and moment.replace(fold=0).utcoffset() != moment.utcoffset()
