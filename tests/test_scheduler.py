"""The scheduler: triggers across DST, what is due, catch-up, retries, one run at a time.

Triggers are checked with ``get_next_fire_time`` the way APScheduler's loop calls it; the
Worker runs against a real SQLite ledger, the local usage API and the Slack stub, with a
clock the test moves.
"""

from __future__ import annotations

import threading
import time
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from apscheduler.events import (
    EVENT_JOB_ERROR,
    EVENT_JOB_MAX_INSTANCES,
    EVENT_JOB_MISSED,
    JobExecutionEvent,
    JobSubmissionEvent,
)
from apscheduler.triggers.cron import CronTrigger

from reportbot.config import Config, ReportConfig, parse_reports
from reportbot.core.periods import latest_complete
from reportbot.ledger.store import Ledger
from reportbot.service.scheduler import JOB_DEFAULTS, Service
from reportbot.service.triggers import is_due, next_run, report_trigger, retry_delay
from reportbot.service.worker import Retry, Worker
from reportbot.settings import Settings
from tests.fakes.slack_api import SlackApiStub
from tests.fakes.usage_api import UsageApiServer

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
TOKEN = "platform-v1-test"
SLACK_TOKEN = "xoxb-test"
CHANNELS = {"C0123456789": "api-usage", "C0000000002": "finance"}
REPORTS = """
[[reports]]
name = "weekly-digest"
period = "week"
timezone = "Europe/Berlin"
slack = ["#api-usage", "C0000000002"]

[[reports]]
name = "daily"
period = "day"
schedule = "30 2 * * *"
timezone = "Europe/Berlin"
slack = ["#api-usage"]

[[reports]]
name = "monthly"
period = "month"
schedule = "0 9 5 * *"
timezone = "America/New_York"
slack = ["#api-usage"]
"""


def report(cron: str, zone: ZoneInfo = BERLIN, period: str = "week") -> ReportConfig:
    fields = {"name": "r", "period": period, "schedule": cron, "timezone": zone.key}
    return ReportConfig.model_validate({**fields, "slack": ["#api-usage"]})


def local(text: str, zone: ZoneInfo) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=zone)


def fires_between(trigger: CronTrigger, start: datetime, end: datetime) -> list[datetime]:
    """The fire times APScheduler's loop would use from ``start`` to ``end``, run on time."""
    fires: list[datetime] = []
    previous, now = None, start
    while (fire := trigger.get_next_fire_time(previous, now)) is not None and fire <= end:
        fires.append(fire.astimezone(UTC))  # == between zones is False in a DST fold or gap
        previous = now = fire
    return fires


def utc(year: int, month: int, day: int, hour: int, minute: int) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


# --- triggers ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cron", "zone", "now", "expected"),
    [
        # weekly, over the spring and autumn changes on both sides of the Atlantic
        ("0 9 * * 1", BERLIN, "2024-03-30T12:00", "2024-04-01T09:00+02:00"),
        ("0 9 * * 1", BERLIN, "2024-10-26T12:00", "2024-10-28T09:00+01:00"),
        ("0 9 * * 1", NEW_YORK, "2024-03-09T12:00", "2024-03-11T09:00-04:00"),
        ("0 9 * * 1", NEW_YORK, "2024-11-02T12:00", "2024-11-04T09:00-05:00"),
        ("0 9 * * mon", BERLIN, "2024-03-25T09:01", "2024-04-01T09:00+02:00"),
        # Sunday as 0 and as 7, on the change days themselves
        ("0 9 * * 0", BERLIN, "2024-03-30T12:00", "2024-03-31T09:00+02:00"),
        ("0 9 * * 7", NEW_YORK, "2024-11-02T12:00", "2024-11-03T09:00-05:00"),
        # monthly
        ("0 9 1 * *", BERLIN, "2024-03-15T00:00", "2024-04-01T09:00+02:00"),
        ("0 9 1 * *", BERLIN, "2024-10-15T00:00", "2024-11-01T09:00+01:00"),
        ("0 9 1 * *", NEW_YORK, "2024-10-15T00:00", "2024-11-01T09:00-04:00"),
        ("0 9 1 * *", NEW_YORK, "2024-11-15T00:00", "2024-12-01T09:00-05:00"),
        # custom
        ("15 8 * * 1-5", BERLIN, "2024-03-29T12:00", "2024-04-01T08:15+02:00"),
        ("0 */6 * * *", BERLIN, "2024-03-31T01:00", "2024-03-31T06:00+02:00"),
        ("0 18 * * fri", NEW_YORK, "2024-11-01T19:00", "2024-11-08T18:00-05:00"),
        # a local time that does not exist fires an hour late
        ("30 2 * * *", BERLIN, "2024-03-31T00:00", "2024-03-31T03:30+02:00"),
        ("30 2 * * *", NEW_YORK, "2024-03-10T00:00", "2024-03-10T03:30-04:00"),
        # one that occurs twice fires the first time
        ("30 2 * * *", BERLIN, "2024-10-27T00:00", "2024-10-27T02:30+02:00"),
        ("30 1 * * *", NEW_YORK, "2024-11-03T00:00", "2024-11-03T01:30-04:00"),
    ],
)
def test_the_next_run_is_at_the_local_time_the_crontab_says(
    cron: str, zone: ZoneInfo, now: str, expected: str
) -> None:
    fire = next_run(report(cron, zone), local(now, zone))
    wanted = datetime.fromisoformat(expected)
    assert fire is not None
    assert fire.astimezone(UTC) == wanted.astimezone(UTC)  # the instant
    assert fire.astimezone(zone).utcoffset() == wanted.utcoffset()  # shown as local time


@pytest.mark.parametrize(
    ("cron", "zone", "day", "expected_utc"),
    [
        ("30 2 * * *", BERLIN, "2024-03-31", [utc(2024, 3, 31, 1, 30)]),  # 03:30 CEST
        ("30 2 * * *", NEW_YORK, "2024-03-10", [utc(2024, 3, 10, 7, 30)]),  # 03:30 EDT
        ("30 2 * * *", BERLIN, "2024-10-27", [utc(2024, 10, 27, 0, 30)]),  # not 01:30Z too
        ("30 1 * * *", NEW_YORK, "2024-11-03", [utc(2024, 11, 3, 5, 30)]),  # not 06:30Z too
    ],
)
def test_a_skipped_or_repeated_local_time_runs_once_that_day(
    cron: str, zone: ZoneInfo, day: str, expected_utc: list[datetime]
) -> None:
    start = local(f"{day}T00:00", zone)
    end = local(f"{day}T23:59", zone)
    assert fires_between(report_trigger(report(cron, zone)), start, end) == expected_utc


def test_plain_apscheduler_would_run_twice_when_the_clocks_go_back() -> None:
    """Why LocalCronTrigger exists."""
    plain = CronTrigger(minute="30", hour="2", timezone=BERLIN)
    start, end = local("2024-10-27T00:00", BERLIN), local("2024-10-27T23:59", BERLIN)
    assert len(fires_between(plain, start, end)) == 2


@pytest.mark.parametrize(
    ("day", "runs"),
    [("2024-03-31", 23), ("2024-10-27", 24), ("2024-08-19", 24)],
)
def test_an_hourly_cron_runs_once_per_local_wall_clock_hour(day: str, runs: int) -> None:
    start, end = local(f"{day}T00:00", BERLIN), local(f"{day}T23:59", BERLIN)
    fires = fires_between(report_trigger(report("0 * * * *")), start, end)
    assert len(fires) == runs
    assert len({f.astimezone(BERLIN).hour for f in fires}) == runs


@pytest.mark.parametrize("zone", [BERLIN, NEW_YORK])
def test_a_weekly_report_runs_every_monday_at_nine_all_year(zone: ZoneInfo) -> None:
    start, end = local("2024-01-01T00:00", zone), local("2024-12-31T23:59", zone)
    fires = [
        f.astimezone(zone)
        for f in fires_between(report_trigger(report("0 9 * * 1", zone)), start, end)
    ]
    assert len(fires) == 53  # 2024 starts and ends on a Monday
    assert {(f.weekday(), f.hour, f.minute) for f in fires} == {(0, 9, 0)}


def test_the_scheduler_gets_a_job_and_a_daily_recheck_per_report(tmp_path: Path) -> None:
    config = make_config("http://127.0.0.1:9/api/", "http://127.0.0.1:9")
    with Ledger(f"sqlite:///{tmp_path / 'ledger.db'}") as ledger:
        service = Service(config, Worker(config, ledger))
        thread = run_in_thread(service.scheduler.start)
        wait_until(lambda: service.scheduler.running)
        jobs = {job.id: job for job in service.scheduler.get_jobs()}
        service.scheduler.shutdown()
        thread.join()
    names = ("weekly-digest", "daily", "monthly")
    assert set(jobs) == {f"{kind}:{name}" for kind in ("report", "recheck") for name in names}
    assert jobs["recheck:daily"].trigger.timezone == jobs["report:daily"].trigger.timezone
    weekly = jobs["report:weekly-digest"]
    assert weekly.trigger.timezone == BERLIN
    assert (
        str(weekly.trigger) == "cron[month='*', day='*', day_of_week='mon', hour='9', minute='0']"
    )
    assert {k: getattr(weekly, k) for k in JOB_DEFAULTS} == JOB_DEFAULTS


# --- due periods and backoff -------------------------------------------------------------


@pytest.mark.parametrize(
    ("cron", "period", "now", "due"),
    [
        ("0 9 * * 1", "week", "2024-08-19T08:59", False),  # W33 closed, the cron not yet run
        ("0 9 * * 1", "week", "2024-08-19T09:00", True),
        ("0 9 * * 1", "week", "2024-08-21T12:00", True),
        ("0 9 5 * *", "month", "2024-09-02T12:00", False),  # August is owed on the 5th
        ("0 9 5 * *", "month", "2024-09-05T09:00", True),
        ("0 9 * * *", "day", "2024-08-20T08:00", False),
        ("0 9 * * *", "day", "2024-08-20T10:00", True),
        ("0 0 * * 1", "week", "2024-08-19T00:00", True),  # run at the very first instant
    ],
)
def test_a_period_is_due_once_the_schedule_has_run_since_it_ended(
    cron: str, period: str, now: str, due: bool
) -> None:
    chosen = report(cron, BERLIN, period)
    moment = local(now, BERLIN)
    latest = latest_complete(period, moment.date())
    assert is_due(chosen, latest, moment) is due


def test_retries_back_off_from_5_minutes_doubling_up_to_6_hours() -> None:
    assert retry_delay(1, permanent=True) == timedelta(hours=1)
    assert retry_delay(3, permanent=True) == timedelta(hours=4)
    minutes = [retry_delay(n) / timedelta(minutes=1) for n in range(1, 11)]
    assert minutes == [5, 10, 20, 40, 80, 160, 320, 360, 360, 360]
    assert retry_delay(1000) == timedelta(hours=6)


# --- the worker ----------------------------------------------------------------------------


class FakeClock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def set(self, text: str, zone: ZoneInfo = BERLIN) -> None:
        self.now = local(text, zone)


@dataclass
class World:
    api: UsageApiServer
    slack: SlackApiStub
    config: Config
    ledger: Ledger
    clock: FakeClock

    def worker(self) -> Worker:
        """A worker as a (re)started process has it: nothing in memory."""
        return Worker(self.config, self.ledger, clock=self.clock)

    def rows(self, name: str = "weekly-digest") -> dict[tuple[str, str], tuple[str, int]]:
        return {
            (d.period, d.destination): (d.status, d.attempts)
            for d in self.ledger.history(name, limit=100)
        }


def make_config(slack_url: str, usage_url: str) -> Config:
    settings = Settings.model_validate(  # validated without reading the environment
        {
            "acedata_token": TOKEN,
            "acedata_base_url": usage_url,
            "slack_bot_token": SLACK_TOKEN,
            "slack_api_url": slack_url,
        }
    )
    return Config(settings, parse_reports(tomllib.loads(REPORTS), "test"), None)


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    clock = FakeClock(local("2024-08-19T09:01", BERLIN))
    with (
        UsageApiServer(token=TOKEN) as api,
        SlackApiStub(token=SLACK_TOKEN, channels=CHANNELS) as slack,
        Ledger(f"sqlite:///{tmp_path / 'ledger.db'}", clock=clock) as ledger,
    ):
        api.serve_rows([{"date": "2024-08-13", "api_id": "mj", "amount": "10"}], {"mj": "MJ"})
        yield World(api, slack, make_config(slack.url, api.url), ledger, clock)


def channels_posted(world: World) -> list[str]:
    return [post.channel for post in world.slack.posts]


def test_a_deploy_at_0859_sends_nothing_and_the_0900_run_sends_last_week_once(
    world: World,
) -> None:
    world.clock.set("2024-08-19T08:59")
    assert world.worker().deliver_latest("weekly-digest", "catch-up on start") is None
    assert world.slack.posts == []
    world.clock.set("2024-08-19T09:00")
    worker = world.worker()
    assert worker.deliver_latest("weekly-digest", "scheduled run") is None
    assert channels_posted(world) == ["C0123456789", "C0000000002"]
    world.clock.set("2024-08-19T09:01")  # and a redeploy right after
    assert world.worker().deliver_latest("weekly-digest", "catch-up on start") is None
    assert len(world.slack.posts) == 2
    assert set(world.rows()) == {
        ("2024-W33", "slack:#api-usage"),
        ("2024-W33", "slack:C0000000002"),
    }


def test_a_deploy_at_0901_catches_up_last_week_once(world: World) -> None:
    world.worker().deliver_latest("weekly-digest", "catch-up on start")
    assert channels_posted(world) == ["C0123456789", "C0000000002"]
    assert "week 33" in (world.slack.posts[0].text or "")
    world.clock.set("2024-08-19T09:02")
    world.worker().deliver_latest("weekly-digest", "catch-up on start")
    assert len(world.slack.posts) == 2


def test_catch_up_sends_only_the_latest_period_never_a_burst_of_old_ones(world: World) -> None:
    world.clock.set("2024-09-04T12:00")  # down since before W33 was due
    world.worker().deliver_latest("weekly-digest", "catch-up on start")
    assert {period for period, _ in world.rows()} == {"2024-W35"}
    assert len(world.slack.posts) == 2


def test_a_monthly_report_is_not_sent_before_its_day(world: World) -> None:
    world.clock.set("2024-09-02T12:00", NEW_YORK)
    world.worker().deliver_latest("monthly", "catch-up on start")
    assert world.slack.posts == []
    world.clock.set("2024-09-05T09:00", NEW_YORK)
    world.worker().deliver_latest("monthly", "scheduled run")
    assert set(world.rows("monthly")) == {("2024-08", "slack:#api-usage")}


def test_a_second_run_for_the_same_period_when_the_clocks_go_back_sends_nothing(
    world: World,
) -> None:
    worker = world.worker()
    world.clock.now = utc(2024, 10, 27, 0, 30)  # 02:30 CEST
    worker.deliver_latest("daily", "scheduled run")
    world.clock.now = utc(2024, 10, 27, 1, 30)  # 02:30 CET, had the trigger fired again
    worker.deliver_latest("daily", "scheduled run")
    assert len(world.slack.posts) == 1
    assert world.rows("daily") == {("2024-10-26", "slack:#api-usage"): ("sent", 1)}


def test_a_destination_that_needs_a_fix_is_retried_slowly_until_it_is_sent(
    world: World,
) -> None:
    world.slack.not_member.add("C0000000002")  # permanent: someone has to invite the bot
    worker = world.worker()
    retry = worker.deliver_latest("weekly-digest", "catch-up on start")
    waits = []
    for _ in range(3):
        assert retry is not None and retry.period == "2024-W33"
        waits.append(retry.at - world.clock.now)
        world.clock.now = retry.at
        retry = worker.retry("weekly-digest", "2024-W33")
    assert waits == [timedelta(hours=1), timedelta(hours=2), timedelta(hours=4)]
    assert retry is not None
    world.slack.not_member.clear()  # someone invited the bot
    world.clock.now = retry.at
    assert worker.retry("weekly-digest", "2024-W33") is None
    assert channels_posted(world) == ["C0123456789", "C0000000002"]
    assert world.rows() == {
        ("2024-W33", "slack:#api-usage"): ("sent", 1),
        ("2024-W33", "slack:C0000000002"): ("sent", 5),
    }


def test_a_transient_failure_is_retried_soon_at_growing_intervals(world: World) -> None:
    world.slack.fail_next("chat.postMessage", status=503, times=1000, after=1)
    worker = world.worker()
    retry = worker.deliver_latest("weekly-digest", "catch-up on start")
    waits = []
    for _ in range(2):
        assert retry is not None
        waits.append(retry.at - world.clock.now)
        world.clock.now = retry.at
        retry = worker.retry("weekly-digest", "2024-W33")
    assert waits == [timedelta(minutes=5), timedelta(minutes=10)]
    assert channels_posted(world) == ["C0123456789"]


def test_retries_stop_once_a_newer_period_is_the_latest_and_the_row_stays_failed(
    world: World,
) -> None:
    world.slack.not_member.add("C0000000002")
    worker = world.worker()
    assert worker.deliver_latest("weekly-digest", "catch-up on start") is not None
    world.clock.set("2024-08-26T00:30")  # W34 is complete now
    assert worker.retry("weekly-digest", "2024-W33") is None
    assert world.rows()[("2024-W33", "slack:C0000000002")] == ("failed", 1)


def test_a_fetch_failure_sends_nothing_and_is_retried(world: World) -> None:
    world.api.fail_next(400)
    retry = world.worker().deliver_latest("weekly-digest", "catch-up on start")
    assert retry == Retry("weekly-digest", "2024-W33", world.clock.now + timedelta(minutes=5))
    assert world.slack.posts == [] and world.rows() == {}


def test_a_destination_still_sending_elsewhere_is_checked_again_later(world: World) -> None:
    world.ledger.claim(
        "weekly-digest", "2024-W33", date(2024, 8, 12), date(2024, 8, 18), "slack:#api-usage"
    )
    retry = world.worker().deliver_latest("weekly-digest", "catch-up on start")
    assert retry is not None and channels_posted(world) == ["C0000000002"]


def run_in_thread(target: Callable[[], object]) -> threading.Thread:
    thread = threading.Thread(target=target)
    thread.start()
    return thread


def wait_until(condition: Callable[[], bool], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_one_run_per_report_at_a_time_and_stop_waits_for_the_one_in_flight(
    world: World,
) -> None:
    world.slack.fail_next("chat.postMessage", delay=1.0)
    worker = world.worker()
    first = run_in_thread(lambda: worker.deliver_latest("weekly-digest", "scheduled run"))
    wait_until(lambda: "chat.postMessage" in world.slack.calls)
    assert worker.retry("weekly-digest", "2024-W33") is None  # not started: one in flight
    worker.stop()
    assert worker.wait_idle(60) == {}
    first.join()
    assert len(world.slack.posts) == 2
    world.clock.set("2024-08-26T09:01")
    assert worker.deliver_latest("weekly-digest", "scheduled run") is None  # stopping
    assert len(world.slack.posts) == 2


def test_wait_idle_names_the_runs_still_in_flight(world: World) -> None:
    world.slack.fail_next("chat.postMessage", delay=2.0)
    worker = world.worker()
    thread = run_in_thread(lambda: worker.deliver_latest("weekly-digest", "scheduled run"))
    wait_until(lambda: "chat.postMessage" in world.slack.calls)
    assert worker.wait_idle(0.05) == {"weekly-digest": "2024-W33"}
    thread.join()


def test_a_missed_run_is_caught_up(world: World) -> None:
    service = Service(world.config, world.worker())
    missed = JobExecutionEvent(EVENT_JOB_MISSED, "report:weekly-digest", "default", world.clock.now)
    service.on_job_event(missed)
    assert "catch-up:weekly-digest" in {job.id for job in service.scheduler.get_jobs()}


def test_job_errors_and_skipped_runs_are_logged_in_one_line_each(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    service = Service(world.config, world.worker())
    boom = RuntimeError("boom")
    service.on_job_event(
        JobExecutionEvent(EVENT_JOB_ERROR, "retry:daily", "default", world.clock.now, None, boom)
    )
    service.on_job_event(
        JobSubmissionEvent(EVENT_JOB_MAX_INSTANCES, "report:daily", "default", [world.clock.now])
    )
    assert [r.getMessage() for r in caplog.records] == [
        "daily: the retry job failed: RuntimeError: boom",
        "daily: the report run was skipped: the previous one is still running",
    ]


def demo_world(world: World, toml: str) -> World:
    reports = parse_reports(tomllib.loads(toml), "test")
    return World(
        world.api,
        world.slack,
        Config(world.config.settings, reports, None),
        world.ledger,
        world.clock,
    )


def test_the_daily_recheck_corrects_the_latest_sent_week_once_its_late_data_is_in(
    world: World,
) -> None:
    demo = demo_world(
        world,
        '[[reports]]\nname = "weekly"\ntimezone = "Europe/Berlin"\nslack = ["#api-usage"]\n'
        'source = "demo"\n',
    )
    demo.clock.set("2024-09-02T09:05")
    assert demo.worker().deliver_latest("weekly", "scheduled run") is None
    demo.worker().recheck("weekly")  # the same day: nothing moved
    assert len(demo.slack.posts) == 1
    demo.clock.set("2024-09-05T11:17")
    demo.worker().recheck("weekly")
    demo.worker().recheck("weekly")  # twice: one correction
    assert len(demo.slack.posts) == 2
    assert demo.slack.posts[1].thread_ts == demo.slack.posts[0].ts


def test_an_alert_is_checked_without_retries_and_posts_each_rule_once(world: World) -> None:
    demo = demo_world(
        world,
        '[[reports]]\nname = "watch"\nkind = "alert"\ntimezone = "Europe/Berlin"\n'
        'slack = ["#api-usage"]\nmonthly_budget = 32000\nsource = "demo"\n',
    )
    demo.clock.set("2024-09-03T10:00")
    worker = demo.worker()
    assert worker.deliver_latest("watch", "scheduled run") is None
    demo.clock.set("2024-09-03T11:00")
    assert worker.deliver_latest("watch", "scheduled run") is None
    assert len(demo.slack.posts) == 1  # over budget, once this month
