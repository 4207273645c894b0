"""Exactly once under every fault: each (fault × step) on Slack and SMTP, SQLite and PostgreSQL.

Real local servers (the Slack Web API stub, aiosmtpd) and a real ledger; the one injected
piece is a ledger whose mark fails, or a process that "dies" (a BaseException) right after
sending. After reruns, every destination holds each message exactly once (email: one
Message-ID) and the ledger says ``sent``.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import pytest

from reportbot.config import ReportConfig
from reportbot.delivery.loop import DeliveryLoop, Outcome, classify
from reportbot.destinations.factory import Destinations
from reportbot.errors import ConfigError, DeliveryError, LedgerError
from reportbot.ledger.rows import Claim
from reportbot.ledger.store import Ledger
from reportbot.render.rendered import RenderedReport
from reportbot.settings import Settings
from tests.conftest import demo_report
from tests.fakes.databases import LEDGER_BACKENDS, ledger_database
from tests.fakes.slack_api import SlackApiStub
from tests.fakes.smtp import SmtpServer

SLACK_TOKEN = "xoxb-test-exactly-once"
PARTS = 5
STALE = 0.4  # seconds: the claim timeout of these tests
REPORT = ReportConfig(name="weekly", slack=("#api-usage",), email=("finance@example.com",), top=8)


class Crash(BaseException):
    """The process dies here (like SIGKILL): nothing after it runs, no except clause sees it."""


class FaultyLedger(Ledger):
    """A ledger whose mark of one destination crashes the process, or fails for a while."""

    crash_at: str | None = None
    fail_at: dict[str, int] = {}  # noqa: RUF012 - test switches, reset by the fixture

    def mark_sent(self, claim: Claim, receipt: str | None, *, summary: str | None = None) -> bool:
        if claim.destination == FaultyLedger.crash_at:
            FaultyLedger.crash_at = None
            raise Crash
        if left := FaultyLedger.fail_at.get(claim.destination, 0):
            FaultyLedger.fail_at[claim.destination] = left - 1
            raise LedgerError("cannot write to the delivery ledger: database is locked")
        return super().mark_sent(claim, receipt, summary=summary)


SLACK, EMAIL = REPORT.destinations


@pytest.fixture(scope="module")
def email_parts() -> dict[str, Any]:
    """The demo report's email, rendered once for the module (matplotlib is slow)."""
    rendered = RenderedReport(demo_report("2024-W33"))
    return {"email": rendered.email, "chart": rendered.chart}


def rendered_report(email_parts: dict[str, Any]) -> RenderedReport:
    rendered = RenderedReport(demo_report("2024-W33"))
    rendered.__dict__.update(email_parts)
    rendered.__dict__["slack_messages"] = [
        {
            "text": f"part {n}",
            "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": f"*{n}*"}}],
        }
        for n in range(1, PARTS + 1)
    ]
    return rendered


@dataclass
class Rig:
    url: str
    slack: SlackApiStub
    smtp: SmtpServer
    rendered: RenderedReport
    outcomes: list[list[Outcome]] = field(default_factory=list)

    def settings(self) -> Settings:
        return Settings(  # type: ignore[call-arg]
            _env_file=None,
            slack_bot_token=SLACK_TOKEN,
            slack_api_url=self.slack.url,
            smtp_host="127.0.0.1",
            smtp_port=self.smtp.port,
            smtp_security="none",
            smtp_from="Reportbot <bot@example.com>",
        )

    def run(self, *, force: bool = False) -> list[Outcome]:
        destinations = Destinations(self.settings(), sleep=lambda _: None)
        with FaultyLedger(self.url, stale_after=timedelta(seconds=STALE)) as ledger:
            loop = DeliveryLoop(ledger, destinations, sleep=lambda _: None)
            outcomes: list[Outcome] = []
            try:
                for destination in REPORT.destinations:
                    outcomes.append(loop.deliver(REPORT, self.rendered, destination, force=force))
            except Crash:
                outcomes.append(Outcome("?", "failed", "crashed"))
            finally:
                destinations.close()
        self.outcomes.append(outcomes)
        return outcomes

    def run_until_sent(self, runs: int = 3) -> None:
        for _ in range(runs):
            if all(o.status in ("sent", "skipped") for o in self.run()) and self.all_sent():
                return
            time.sleep(STALE * 1.5)  # let an unfinished claim go stale

    def all_sent(self) -> bool:
        with Ledger(self.url) as ledger:
            return set(ledger.status("weekly", "2024-W33").values()) == {"sent"}

    def slack_parts(self) -> Counter[int]:
        return Counter(
            int(p.metadata["event_payload"]["part"]) for p in self.slack.posts if p.metadata
        )

    def message_ids(self) -> set[str]:
        return {
            str(message_from_bytes(m.raw, policy=policy.default)["Message-ID"])
            for m in self.smtp.messages
        }


@pytest.fixture(params=LEDGER_BACKENDS)
def rig(
    request: pytest.FixtureRequest, tmp_path: Path, email_parts: dict[str, Any]
) -> Iterator[Rig]:
    FaultyLedger.crash_at, FaultyLedger.fail_at = None, {}
    with (
        ledger_database(request.param, tmp_path) as url,
        SlackApiStub(token=SLACK_TOKEN, channels={"C0123456789": "api-usage"}) as slack,
        SmtpServer() as smtp,
    ):
        yield Rig(url, slack, smtp, rendered_report(email_parts))


def slack_fault(step: str) -> Callable[[Rig], None]:
    def inject(rig: Rig) -> None:
        if step == "before send":  # Slack answers 503 without taking the post
            rig.slack.fail_next("chat.postMessage", status=503, after=2)
        elif step == "during send":  # the answer to part 3 is cut off
            rig.slack.fail_next("chat.postMessage", mode="truncate", after=2)
        elif step == "after send":  # the connection is reset once part 3 was taken
            rig.slack.fail_next("chat.postMessage", mode="reset", after=2)
        elif step == "crash before mark":
            FaultyLedger.crash_at = SLACK
        elif step == "during mark":
            FaultyLedger.fail_at = {SLACK: 3}

    return inject


def smtp_fault(step: str) -> Callable[[Rig], None]:
    def inject(rig: Rig) -> None:
        if step == "before send":
            rig.smtp.fail_next(421, "try again later", on="MAIL")
        elif step == "during send":
            rig.smtp.fail_next(451, "local error in processing", on="DATA")
        elif step == "crash before mark":
            FaultyLedger.crash_at = EMAIL
        elif step == "during mark":
            FaultyLedger.fail_at = {EMAIL: 3}

    return inject


STEPS = ["before send", "during send", "after send", "crash before mark", "during mark"]


@pytest.mark.parametrize("step", STEPS)
def test_every_slack_fault_ends_with_each_part_posted_exactly_once(rig: Rig, step: str) -> None:
    slack_fault(step)(rig)
    rig.run_until_sent()
    assert rig.slack_parts() == Counter(range(1, PARTS + 1))
    assert len(rig.slack.posts) == PARTS
    assert len(rig.message_ids()) == 1
    assert rig.all_sent()


@pytest.mark.parametrize("step", ["before send", "during send", "crash before mark", "during mark"])
def test_every_smtp_fault_ends_with_one_message_id(rig: Rig, step: str) -> None:
    smtp_fault(step)(rig)
    rig.run_until_sent()
    assert len(rig.message_ids()) == 1
    assert rig.all_sent()
    assert len(rig.slack.posts) == PARTS


def test_a_failed_mark_does_not_stop_the_next_destination(rig: Rig) -> None:
    FaultyLedger.fail_at = {SLACK: 3}  # every write of the Slack mark fails
    slack, email = rig.run()
    assert slack.status == "unrecorded"
    assert "the next run finds it by its idempotency key" in slack.detail
    assert email.status == "sent"
    assert len(rig.smtp.messages) == 1


def test_a_reset_after_slack_took_the_post_is_not_posted_twice_in_one_run(rig: Rig) -> None:
    rig.slack.fail_next("chat.postMessage", mode="reset")
    slack, _ = rig.run()
    assert slack.status == "sent"
    assert len(rig.slack.posts) == PARTS  # part 1 found by its key, not posted again


def test_a_truncated_answer_keeps_the_parts_already_posted(rig: Rig) -> None:
    rig.slack.fail_next("chat.postMessage", mode="truncate", after=1)  # on message 2 of 5
    slack, _ = rig.run()
    assert slack.status == "sent"
    assert rig.slack_parts() == Counter(range(1, PARTS + 1))


def test_an_ok_without_a_ts_is_recorded_with_the_ts_found_in_the_channel(rig: Rig) -> None:
    rig.slack.fail_next("chat.postMessage", mode="no_ts")
    slack, _ = rig.run()
    assert slack.status == "sent"
    assert slack.detail.startswith(str(rig.slack.posts[0].ts))
    assert "None" not in slack.detail


def test_without_history_scope_it_warns_and_relies_on_the_ledger(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    rig.slack.history = False
    slack, _ = rig.run()
    assert slack.status == "sent"
    warnings = [r for r in caplog.records if "cannot read Slack history" in r.getMessage()]
    assert len(warnings) == 1
    assert rig.run()[0].status == "skipped"  # the ledger has it
    assert len(rig.slack.posts) == PARTS


def test_without_history_scope_an_ambiguous_post_is_not_repeated(rig: Rig) -> None:
    rig.slack.history = False
    rig.slack.fail_next("chat.postMessage", mode="reset")
    slack, _ = rig.run()
    assert slack.status == "failed"
    assert len(rig.slack.posts) == 1  # taken once; not posted again blindly


def test_a_lost_ledger_does_not_post_again(rig: Rig, tmp_path: Path) -> None:
    rig.run()
    assert rig.all_sent()
    other = tmp_path / "fresh"
    other.mkdir()
    with ledger_database("sqlite", other) as fresh:
        rig.url = fresh
        slack, _ = rig.run()
    assert slack.status == "sent"
    assert "5 of 5 found already delivered" in slack.detail
    assert len(rig.slack.posts) == PARTS


def test_force_posts_again_with_a_new_key_and_message_id(rig: Rig) -> None:
    rig.run()
    rig.run(force=True)
    assert len(rig.slack.posts) == 2 * PARTS
    assert len(rig.message_ids()) == 2


@pytest.mark.parametrize(
    ("error", "permanent"),
    [
        (ConfigError("template slack/line.md.j2 line 3: unexpected '}'"), True),
        (DeliveryError("Slack failed (HTTP 503)"), False),
        (DeliveryError("Slack refused (channel_not_found)", permanent=True), True),
        (LedgerError("cannot read"), False),
        (KeyError("boom"), False),
    ],
)
def test_each_failure_is_classified_once(error: Exception, permanent: bool) -> None:
    failure = classify(error)
    assert isinstance(failure, DeliveryError)
    assert failure.permanent is permanent
    assert "\n" not in str(failure)


def test_a_broken_template_is_a_permanent_failure_recorded_in_the_ledger(
    rig: Rig, tmp_path: Path
) -> None:
    del rig.rendered.__dict__["slack_messages"]
    folder = tmp_path / "templates" / "slack"
    folder.mkdir(parents=True)
    (folder / "summary.md.j2").write_text("{{ r.total | credits ", encoding="utf-8")
    rig.rendered.templates = folder.parent
    slack, email = rig.run()
    assert slack.status == "failed"
    assert slack.permanent
    assert "summary.md.j2" in slack.detail
    assert email.status == "sent"
    with Ledger(rig.url) as ledger:
        row = next(r for r in ledger.history("weekly") if r.destination == "slack:#api-usage")
    assert row.permanent is True
