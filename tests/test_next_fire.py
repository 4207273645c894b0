"""plain_next_fire answers what the scheduler's trigger answers, wherever it answers at all.

The reference is the trigger ``serve`` fires by (LocalCronTrigger, APScheduler's
CronTrigger underneath), asked the way next_run asked it before. Moments are drawn around
every UTC offset change of each zone in 2024-2026 and at random.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from reportbot.config import ReportConfig
from reportbot.core.next_fire import plain_next_fire
from reportbot.service.triggers import next_run, report_trigger

ZONES = [
    "UTC",
    "Europe/Berlin",
    "Europe/London",
    "America/New_York",
    "America/St_Johns",
    "America/Santiago",  # its spring change skips midnight
    "Australia/Lord_Howe",  # a 30-minute change
    "Pacific/Chatham",
    "Africa/Casablanca",  # two changes a month apart, around Ramadan
    "Asia/Kolkata",
    "Asia/Kathmandu",
]
CRONS = [
    "0 9 * * 1",
    "0 9 1 * *",
    "0 9 * * *",
    "0 * * * *",
    "30 2 * * *",
    "*/15 * * * *",
    "0 0 * * *",
    "30 1 * * 0",
    "0 0 29 2 *",
    "45 23 31 * *",
    "0 2,3 * * 1-5",
    "15 */6 * * *",
    "5 4 1/10 */3 *",
]
DELTAS = [timedelta(minutes=m) for m in (-1500, -90, -61, -30, -1, 0, 1, 29, 60, 125, 1440)]


def offset_changes(zone: ZoneInfo) -> list[datetime]:
    """The UTC hours in 2024-2026 at which ``zone``'s offset is not the hour before's."""
    start = datetime(2024, 1, 1, tzinfo=UTC)
    hours = [start + timedelta(hours=h) for h in range(3 * 366 * 24)]
    offsets = [hour.astimezone(zone).utcoffset() for hour in hours]
    return [hours[i] for i in range(1, len(hours)) if offsets[i] != offsets[i - 1]]


def random_moments(zone: ZoneInfo) -> list[datetime]:
    drawn = random.Random(f"next-fire-{zone.key}")
    start = datetime(2024, 1, 1, tzinfo=UTC)
    return [start + timedelta(seconds=drawn.randrange(7 * 365 * 86400)) for _ in range(25)]


def moments_near_changes(zone: ZoneInfo) -> list[datetime]:
    return [change + delta for change in offset_changes(zone) for delta in DELTAS]


def reference(report: ReportConfig, now: datetime) -> datetime | None:
    """next_run as it was: the trigger alone."""
    fire = report_trigger(report).get_next_fire_time(None, now.astimezone(report.zone))
    return fire.astimezone(UTC).astimezone(report.zone) if fire else None


@pytest.mark.parametrize("zone", ZONES)
def test_the_plain_next_fire_is_the_triggers_wherever_it_answers(zone: str) -> None:
    answered = {"random": 0, "near a change": 0}
    asked = {
        "random": random_moments(ZoneInfo(zone)),
        "near a change": moments_near_changes(ZoneInfo(zone)),
    }
    for cron in CRONS:
        report = ReportConfig.model_validate(
            {"name": "r", "slack": ["#a"], "schedule": cron, "timezone": zone}
        )
        for kind, nows in asked.items():
            for now in nows:
                expected = reference(report, now)
                plain = plain_next_fire(report.cron, report.zone, now)
                if plain is not None:
                    answered[kind] += 1
                    assert expected is not None
                    assert plain.astimezone(UTC) == expected.astimezone(UTC), (cron, now)
                    assert plain.isoformat() == expected.isoformat(), (cron, now)
                assert next_run(report, now) == expected, (cron, now)
    # The plain answer is the common case, and near a change it mostly declines.
    assert answered["random"] > len(CRONS) * len(asked["random"]) * 0.6
    assert (
        answered["near a change"] < len(CRONS) * len(asked["near a change"]) * 0.5
        or not asked["near a change"]
    )


def test_a_second_past_the_fire_time_is_the_next_one() -> None:
    report = ReportConfig.model_validate({"name": "r", "slack": ["#a"], "schedule": "0 9 * * *"})
    on_time = datetime(2024, 8, 19, 9, 0, tzinfo=UTC)
    assert plain_next_fire(report.cron, report.zone, on_time) == on_time
    later = plain_next_fire(report.cron, report.zone, on_time + timedelta(microseconds=1))
    assert later == on_time + timedelta(days=1)
