"""What a remote server says reaches the terminal and the ledger only made printable.

Servers here answer with terminal escapes (OSC title/clipboard, CSI screen clears, 8-bit CSI)
and bidi controls; none of them may reach stdout, stderr or ``history``.
"""

from __future__ import annotations

import re

import pytest

from tests.test_cli_email import World, world  # noqa: F401 - the fixture

HOSTILE = "5.7.1 \x1b]0;pwned\x07rejected\x1b[2J \x9b31mby\x1b]52;c;SGVsbG8=\x07 \u202epolicy"
UNPRINTABLE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


@pytest.mark.xfail(
    strict=True,
    reason="needs destinations/email.py to pass SMTP replies through errors.printable() "
    "(notes/issue-9.md, Needs from the lead)",
)
@pytest.mark.parametrize("command", ["MAIL", "RCPT", "DATA"])
def test_an_smtp_reply_with_terminal_escapes_is_shown_and_stored_printable(
    world: World,  # noqa: F811
    command: str,
) -> None:
    world.smtp.fail_next(554, HOSTILE, times=10, on=command)  # type: ignore[arg-type]
    sent = world.run("run", "monthly-costs", "--period", "2024-08")
    history = world.run("history")
    assert sent.returncode == 1
    assert "rejected" in sent.stdout + sent.stderr
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
