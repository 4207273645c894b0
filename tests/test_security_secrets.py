"""The secrets sweep: every command path, with a recognisable value in every secret variable.

Each command runs as a real subprocess against the local usage API, Slack stub, SMTP server
and PostgreSQL (its URL carrying a password the server's trust auth ignores); no secret may
appear in stdout, stderr, a file written by ``--out``, the ledger, or what was delivered.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from tests.conftest import subprocess_env
from tests.fakes.databases import postgres_database
from tests.fakes.slack_api import WEBHOOK_PATH, SlackApiStub
from tests.fakes.smtp import SmtpServer, write_test_ca
from tests.fakes.usage_api import UsageApiServer
from tests.test_cli_run import NAMES, ROWS

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

TOKEN = "platform-v1-ACESECRET-0123456789"
SLACK_TOKEN = "xoxb-SLACKSECRET-0123456789"
SMTP_USER, SMTP_PASSWORD = "reportbot", "SMTPSECRET-pw-0123"
PG_PASSWORD = "PGSECRET-pw-0123"
HOOK_SECRET = WEBHOOK_PATH.rsplit("/", 1)[1]  # the stub's webhook path ends in the secret
MARKERS = ("ACESECRET", "SLACKSECRET", "SMTPSECRET", "PGSECRET", HOOK_SECRET, "WRONGSECRET")
CONFIG = """
[[reports]]
name = "weekly-digest"
timezone = "Europe/Berlin"
slack = ["#api-usage", "C0000000002", "webhook"]

[[reports]]
name = "monthly-costs"
period = "month"
email = ["finance@example.com"]
"""


@dataclass
class World:
    folder: Path
    api: UsageApiServer
    slack: SlackApiStub
    smtp: SmtpServer
    database_url: str
    seen: list[str] = field(default_factory=list)

    def env(self, **extra: str) -> dict[str, str]:
        return subprocess_env(
            **{
                "ACEDATA_TOKEN": TOKEN,
                "ACEDATA_BASE_URL": self.api.url,
                "SLACK_BOT_TOKEN": SLACK_TOKEN,
                "SLACK_API_URL": self.slack.url,
                "SLACK_WEBHOOK_URL": self.slack.webhook_url,
                "SMTP_HOST": "localhost",
                "SMTP_PORT": str(self.smtp.port),
                "SMTP_USERNAME": SMTP_USER,
                "SMTP_PASSWORD": SMTP_PASSWORD,
                "SMTP_FROM": "Reportbot <reportbot@example.com>",
                "SSL_CERT_FILE": str(write_test_ca(self.folder / "ca.pem")),
                "REPORTBOT_DATABASE_URL": self.database_url,
                **extra,
            }
        )

    def run(
        self, *args: str, unset: tuple[str, ...] = (), **env: str
    ) -> subprocess.CompletedProcess[str]:
        variables = {k: v for k, v in self.env(**env).items() if k not in unset}
        done = subprocess.run(
            [sys.executable, "-m", "reportbot", *args],
            cwd=self.folder,
            env=variables,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        self.seen += [done.stdout, done.stderr]
        assert "Traceback" not in done.stderr or "-v" in args, done.stderr
        return done

    def everything(self) -> str:
        """All output so far, every file under the folder, and all that was delivered."""
        files = [
            path.read_bytes().decode("utf-8", "replace")
            for path in self.folder.rglob("*")
            if path.is_file() and path.suffix != ".pem" and path.name != ".env"
        ]
        posts = [json.dumps([p.text, p.blocks], ensure_ascii=False) for p in self.slack.posts]
        mails = [m.raw.decode("utf-8", "replace") for m in self.smtp.messages]
        return "\n".join([*self.seen, *files, *posts, *mails])


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    (tmp_path / "reportbot.toml").write_text(CONFIG, encoding="utf-8")
    channels = {"C0123456789": "api-usage", "C0000000002": "finance"}
    with (
        postgres_database() as url,
        UsageApiServer(token=TOKEN) as api,
        SlackApiStub(token=SLACK_TOKEN, channels=channels) as slack,
        SmtpServer("starttls", auth=(SMTP_USER, SMTP_PASSWORD)) as smtp,
    ):
        api.serve_rows(ROWS, NAMES)
        with_password = make_url(url).set(password=PG_PASSWORD).render_as_string(False)
        yield World(tmp_path, api, slack, smtp, with_password)


def assert_no_secret(world: World) -> None:
    everything = world.everything()
    for marker in MARKERS:
        assert marker not in everything, f"{marker} leaked"


def test_no_command_path_shows_a_secret(world: World) -> None:
    week, month = ("--period", "2024-W33"), ("--period", "2024-08")
    assert world.run("check").returncode == 0, world.seen[-1]
    dry = world.run("-v", "run", "--all", *week, "--dry-run", "--out", "out")
    assert dry.returncode == 0, dry.stderr
    assert world.run("--log-format", "json", "run", "--all", *week).returncode == 0
    assert world.run("-v", "run", "monthly-costs", *month, "--force").returncode == 0
    assert world.run("demo", "--slack", "--out", "demo-out").returncode == 0
    assert world.run("list").returncode == 0
    assert world.run("history").returncode == 0
    assert world.run("-v", "--log-format", "json", "history", "weekly-digest").returncode == 0
    assert len(world.slack.posts) >= 3 and world.smtp.messages
    assert_no_secret(world)


def test_no_failure_shows_a_secret(world: World) -> None:
    week = ("--period", "2024-W33")
    world.api.fail_next(401, {"detail": f"Invalid platform token {TOKEN}"})
    assert world.run("-v", "run", "weekly-digest", *week).returncode == 1
    world.api.fail_next(200, {"error": {"code": "x", "message": f"Bearer {TOKEN}"}})
    assert world.run("--log-format", "json", "run", "weekly-digest", *week).returncode == 1
    wrong = {"SLACK_BOT_TOKEN": "xoxb-WRONGSECRET-1", "SMTP_PASSWORD": "WRONGSECRET-pw"}
    assert world.run("-v", "run", "--all", *week, "--force", **wrong).returncode == 1
    assert world.run("check", **wrong).returncode == 1
    assert world.run("history").returncode == 0  # the failures' last_error, as stored
    dead_db = f"postgresql://postgres:{PG_PASSWORD}@127.0.0.1:1/x"
    assert world.run("-v", "history", REPORTBOT_DATABASE_URL=dead_db).returncode != 0
    assert world.run("run", "--all", *week, REPORTBOT_DATABASE_URL=dead_db).returncode != 0
    assert_no_secret(world)


MALFORMED = {
    "token-space": {"ACEDATA_TOKEN": "platform-v1-ACESECRET with space"},
    "token-newline": {"ACEDATA_TOKEN": "platform-v1-ACESECRET\nX-Injected: 1"},
    "slack-crlf": {"SLACK_BOT_TOKEN": "xoxb-SLACKSECRET\r\nX-Injected: 1"},
    "slack-accent": {"SLACK_BOT_TOKEN": "xoxb-SLACKSECRET-\u00e9"},
    "smtp-crlf": {"SMTP_PASSWORD": "SMTPSECRET\r\nRSET"},
    "smtp-accent": {"SMTP_PASSWORD": "SMTPSECRET-\u00e9\u00e8"},
    "db-bad-host": {"REPORTBOT_DATABASE_URL": "postgresql://u:PGSECRET@[::1/x"},
    "db-bad-scheme": {"REPORTBOT_DATABASE_URL": "nosuchdb://u:PGSECRET@h/x"},
}


@pytest.mark.parametrize(
    ("malformed", "flags"),
    [
        (settings, ("-v",) if index % 2 else ("--log-format", "json"))
        for index, settings in enumerate(MALFORMED.values())
    ],
    ids=list(MALFORMED),
)
def test_a_malformed_secret_fails_without_showing_itself(
    world: World, malformed: dict[str, str], flags: tuple[str, ...]
) -> None:
    done = world.run(*flags, "run", "--all", "--period", "2024-W33", "--force", **malformed)
    assert done.returncode in (1, 2), done.stderr
    world.run(*flags, "check", **malformed)
    assert_no_secret(world)


def test_secrets_only_in_a_dotenv_file_never_show(world: World) -> None:
    env = world.env(SLACK_BOT_TOKEN="xoxb-WRONGSECRET-dotenv", SMTP_PASSWORD="WRONGSECRET-dotenv")
    secret_names = ("ACEDATA_TOKEN", "SLACK_BOT_TOKEN", "SMTP_PASSWORD", "REPORTBOT_DATABASE_URL")
    lines = [f"{name}={env[name]}" for name in secret_names]
    (world.folder / ".env").write_text("\n".join(lines) + "\n", encoding="utf-8")
    world.api.fail_next(401, {"detail": f"Invalid platform token {TOKEN}"})
    week = ("--period", "2024-W33")
    assert world.run("-v", "run", "--all", *week, unset=secret_names).returncode == 1
    assert world.run("-v", "run", "--all", *week, unset=secret_names).returncode == 1
    assert world.run("--log-format", "json", "check", unset=secret_names).returncode == 1
    assert_no_secret(world)


@pytest.mark.parametrize(
    "webhook",
    [
        f"http://127.0.0.1:9/hooks/{HOOK_SECRET} 0123",  # InvalidURL in http.client
        f"127.0.0.1:9/hooks/{HOOK_SECRET}",  # slack-sdk: "Invalid URL detected: ..."
        f"https://hooks.slack.com/services/{HOOK_SECRET}\x7f",
    ],
)
@pytest.mark.parametrize("flags", [(), ("-v",), ("--log-format", "json")])
def test_a_malformed_webhook_url_is_refused_at_start_without_showing_it(
    world: World, webhook: str, flags: tuple[str, ...]
) -> None:
    done = world.run(
        *flags, "run", "weekly-digest", "--period", "2024-W33", SLACK_WEBHOOK_URL=webhook
    )
    assert done.returncode == 2
    assert "SLACK_WEBHOOK_URL is not an http(s) URL" in done.stderr
    assert world.slack.posts == []
    assert_no_secret(world)


def test_serve_logs_no_secret(world: World) -> None:
    popen = subprocess.Popen(
        [sys.executable, "-m", "reportbot", "-v", "serve"],
        cwd=world.folder,
        env=world.env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: list[str] = []
    assert popen.stderr is not None
    for line in popen.stderr:  # until the scheduler is up and has logged its start
        lines.append(line)
        if "serving" in line or len(lines) > 200:
            break
    popen.send_signal(signal.SIGTERM)
    out, err = popen.communicate(timeout=60)
    world.seen += [*lines, out, err]
    assert any("serving" in line for line in lines), "".join(lines)
    assert_no_secret(world)
