"""Run ``reportbot`` as a user would: a subprocess against the local fake services.

    env = reportbot_env(folder, api=api, api_token=TOKEN, slack=slack, slack_token=...)
    result = run_reportbot(folder, env, "run", "weekly-digest", now=monday_0900)

Every CLI test builds its environment and runs the command through these two functions;
``now`` starts the process under time-machine at that instant (``serve`` and ``list`` tests).
"""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime
from pathlib import Path

from tests.conftest import subprocess_env
from tests.fakes.slack_api import SlackApiStub
from tests.fakes.smtp import SmtpServer
from tests.fakes.usage_api import UsageApiServer

FAKE_NOW = "REPORTBOT_TEST_NOW"
CLOCKED = f"""
import os, time_machine
from reportbot.cli.main import main  # imported first: the clock starts at $FAKE_NOW after that
time_machine.travel(float(os.environ["{FAKE_NOW}"]), tick=True).start()
main()
"""


def reportbot_env(
    folder: Path,
    *,
    api: UsageApiServer | None = None,
    api_token: str = "",
    slack: SlackApiStub | None = None,
    slack_token: str = "",
    webhook: bool = False,
    smtp: SmtpServer | None = None,
    smtp_login: tuple[str, str] | None = None,
    ca_file: Path | None = None,
    now: datetime | None = None,
    **extra: str,
) -> dict[str, str]:
    """The environment of a reportbot process talking to the given fakes."""
    env = {"REPORTBOT_DATABASE_URL": f"sqlite:///{folder / 'ledger.db'}"}
    if api is not None:
        env |= {"ACEDATA_TOKEN": api_token, "ACEDATA_BASE_URL": api.url}
    if slack is not None:
        env |= {"SLACK_BOT_TOKEN": slack_token, "SLACK_API_URL": slack.url}
        if webhook:
            env["SLACK_WEBHOOK_URL"] = slack.webhook_url
    if smtp is not None:
        env |= {
            "SMTP_HOST": smtp.host,
            "SMTP_PORT": str(smtp.port),
            "SMTP_FROM": "Reportbot <reportbot@example.com>",
            "SMTP_SECURITY": "starttls" if ca_file else "none",
        }
        if smtp_login:
            env |= {"SMTP_USERNAME": smtp_login[0], "SMTP_PASSWORD": smtp_login[1]}
        if ca_file:
            env["SSL_CERT_FILE"] = str(ca_file)
    if now is not None:
        env[FAKE_NOW] = str(now.timestamp())
    return subprocess_env(**{**env, **extra})


def reportbot_argv(*args: str, now: datetime | None = None) -> list[str]:
    """The command line of ``reportbot ARGS``, under a fake clock when ``now`` is given."""
    return [sys.executable, *(["-c", CLOCKED] if now else ["-m", "reportbot"]), *args]


def run_reportbot(
    folder: Path,
    env: dict[str, str],
    *args: str,
    now: datetime | None = None,
    timeout: float = 120,
) -> subprocess.CompletedProcess[str]:
    """``reportbot ARGS`` in ``folder``, to completion, output captured."""
    if now is not None:
        env = {**env, FAKE_NOW: str(now.timestamp())}
    return subprocess.run(
        reportbot_argv(*args, now=now),
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
