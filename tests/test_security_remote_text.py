"""What a remote server says reaches the terminal and the ledger only made printable.

Servers here answer with terminal escapes (OSC title/clipboard, CSI screen clears, 8-bit CSI)
and bidi controls; none of them may reach stdout, stderr or ``history``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fakes.slack_api import SlackApiStub
from tests.fakes.usage_api import UsageApiServer
from tests.test_cli_email import World, world  # noqa: F401 - the fixture
from tests.test_cli_run import NAMES, ROWS, SLACK_TOKEN, TOKEN
from tests.test_cli_run import World as SlackWorld

HOSTILE = "5.7.1 \x1b]0;pwned\x07rejected\x1b[2J \x9b31mby\x1b]52;c;SGVsbG8=\x07 \u202epolicy"
UNPRINTABLE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


@pytest.fixture
def slack_world(tmp_path: Path) -> Iterator[SlackWorld]:
    (tmp_path / "reportbot.toml").write_text(
        '[[reports]]\nname = "weekly-digest"\nslack = ["C0123456789", "webhook"]\n',
        encoding="utf-8",
    )
    with (
        UsageApiServer(token=TOKEN) as api,
        SlackApiStub(token=SLACK_TOKEN, channels={"C0123456789": "api-usage"}) as slack,
    ):
        api.serve_rows(ROWS, NAMES)
        yield SlackWorld(tmp_path, api, slack)


@pytest.mark.parametrize("command", ["MAIL", "RCPT", "DATA"])
def test_an_smtp_reply_with_terminal_escapes_is_shown_and_stored_printable(
    world: World,  # noqa: F811
    command: str,
) -> None:
    world.smtp.fail_next(554, HOSTILE, times=10, on=command)  # type: ignore[arg-type]
    sent = world.run("run", "monthly-costs", "--period", "2024-08")
    history = world.run("history")
    assert sent.returncode == 1
    assert "failed" in sent.stdout
    for output in (sent.stdout, sent.stderr, history.stdout, history.stderr):
        assert not UNPRINTABLE.search(output), repr(output)


def test_a_usage_api_error_with_terminal_escapes_is_shown_printable(world: World) -> None:  # noqa: F811
    world.api.fail_next(400, {"detail": HOSTILE})
    failed = world.run("run", "monthly-costs", "--period", "2024-08")
    world.api.respond_next(200, {"detail": HOSTILE})
    answered = world.run("run", "monthly-costs", "--period", "2024-08")
    for done in (failed, answered):
        assert done.returncode == 1
        assert "rejected by policy" in done.stdout + done.stderr
        assert not UNPRINTABLE.search(done.stdout + done.stderr), repr(done.stderr)


@pytest.mark.parametrize("method", ["chat.postMessage", "webhook"])
def test_a_slack_error_with_terminal_escapes_is_shown_and_stored_printable(
    slack_world: SlackWorld, method: str
) -> None:
    slack_world.slack.fail_next(method, error=HOSTILE, times=10)
    hook = {"SLACK_WEBHOOK_URL": slack_world.slack.webhook_url}
    sent = slack_world.run("run", "weekly-digest", "--period", "2024-W33", **hook)
    history = slack_world.run("history", **hook)
    assert sent.returncode == 1
    assert "failed" in sent.stdout
    for output in (sent.stdout, sent.stderr, history.stdout, history.stderr):
        assert not UNPRINTABLE.search(output), repr(output)
