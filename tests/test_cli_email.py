"""The monthly cost report by email, end to end: a real subprocess, a real SMTP server."""

from __future__ import annotations

import csv
import email
import io
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from email.message import EmailMessage
from email.policy import default
from pathlib import Path

import pytest
import trustme

from tests.fakes.cli import reportbot_env, run_reportbot
from tests.fakes.smtp import SmtpServer, write_test_ca
from tests.fakes.usage_api import UsageApiServer

PASSWORD = "smtp-PASSWORD-sekret"
TOKEN = "platform-v1-TOKEN-sekret"
CONFIG = """
[[reports]]
name = "monthly-costs"
period = "month"
timezone = "Europe/Berlin"
email = ["finance@example.com", "cfo@example.com", "gone@example.com"]
credit_price = 0.1
"""
# August 2024 against July 2024.
ROWS = [
    {"date": "2024-08-01", "api_id": "mj", "amount": "1000.25"},
    {"date": "2024-08-31", "api_id": "mj", "amount": "234.25"},
    {"date": "2024-08-15", "api_id": "<script>alert(1)</script>", "amount": "10"},
    {"date": "2024-07-10", "api_id": "mj", "amount": "1099.50"},
]
NAMES = {"mj": 'Midjourney "Imagine" 🚀'}


@dataclass
class World:
    folder: Path
    api: UsageApiServer
    smtp: SmtpServer

    def run(self, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
        base = reportbot_env(
            self.folder,
            api=self.api,
            api_token=TOKEN,
            smtp=self.smtp,
            smtp_login=("reportbot", PASSWORD),
            ca_file=write_test_ca(self.folder / "ca.pem"),
            **env,
        )
        return run_reportbot(self.folder, base, *args, timeout=180)

    def received(self) -> list[EmailMessage]:
        return [email.message_from_bytes(m.raw, policy=default) for m in self.smtp.messages]  # type: ignore[misc]


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    (tmp_path / "reportbot.toml").write_text(CONFIG, encoding="utf-8")
    with UsageApiServer() as api, SmtpServer("starttls", auth=("reportbot", PASSWORD)) as smtp:
        api.serve_rows(ROWS, NAMES)
        yield World(tmp_path, api, smtp)


def test_it_emails_the_monthly_report_and_reports_the_refused_mailbox(world: World) -> None:
    world.smtp.refuse("gone@example.com")
    result = world.run("run", "monthly-costs", "--period", "2024-08")
    assert result.returncode == 1, result.stderr
    assert "gone@example.com" in result.stdout
    assert "✓ monthly-costs 2024-08 email:finance@example.com: sent" in result.stdout
    assert "✓ monthly-costs 2024-08 email:cfo@example.com: sent" in result.stdout
    assert "✗ monthly-costs 2024-08 email:gone@example.com: failed" in result.stdout
    for output in (result.stdout, result.stderr):
        assert PASSWORD not in output
        assert TOKEN not in output
    assert world.smtp.connections == 1  # one connection for every recipient of the run
    messages = world.received()
    assert [m["To"] for m in messages] == ["finance@example.com", "cfo@example.com"]
    message = messages[0]
    # 1000.25 + 234.25 + 10 = 1,244.50 against 1,099.50: +145.00, +13.2%
    assert message["Subject"] == "API usage, August 2024: 1,244.50 credits (+13.2% vs July)"
    assert_parts(message)


def assert_parts(message: EmailMessage) -> None:
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert text is not None
    assert html is not None
    assert "1,244.50" in text.get_content()
    body = html.get_content()
    assert "<script>alert" not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body
    images = [p for p in message.walk() if p.get_content_type() == "image/png"]
    assert len(images) == 1
    assert f'src="cid:{images[0]["Content-ID"][1:-1]}"' in body
    attachments = list(message.iter_attachments())
    (attachment,) = [a for a in attachments if a.get_content_type() == "text/csv"]
    assert attachment.get_filename() == "usage-monthly-costs-2024-08.csv"
    rows = list(csv.DictReader(io.StringIO(attachment.get_content().lstrip("\ufeff"))))
    assert sum(Decimal(r["credits"]) for r in rows) == Decimal("1244.50")  # a plain SUM


def test_rerunning_sends_only_to_the_mailbox_that_failed(world: World) -> None:
    world.smtp.refuse("gone@example.com")
    assert world.run("run", "monthly-costs", "--period", "2024-08").returncode == 1
    world.smtp._handler.refused.clear()
    again = world.run("run", "monthly-costs", "--period", "2024-08")
    assert again.returncode == 0, again.stderr
    assert [m["To"] for m in world.received()] == [
        "finance@example.com",
        "cfo@example.com",
        "gone@example.com",
    ]


def test_a_wrong_smtp_password_fails_every_mailbox_with_exit_1(world: World) -> None:
    result = world.run("run", "monthly-costs", "--period", "2024-08", SMTP_PASSWORD="nope")
    assert result.returncode == 1
    assert "SMTP login failed" in result.stdout
    assert "Traceback" not in result.stderr
    assert world.smtp.messages == []


def test_an_untrusted_certificate_is_refused(world: World) -> None:
    other_ca = world.folder / "other-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(other_ca))
    result = world.run("run", "monthly-costs", "--period", "2024-08", SSL_CERT_FILE=str(other_ca))
    assert result.returncode == 1
    assert "certificate" in result.stdout
    assert world.smtp.messages == []


def test_unreadable_trusted_certificates_are_a_one_line_config_error(world: World) -> None:
    result = world.run("run", "monthly-costs", "--period", "2024-08", SSL_CERT_FILE="/dev/null")
    assert result.returncode == 2
    assert "check SSL_CERT_FILE" in result.stderr
    assert "internal error" not in result.stderr


def test_dry_run_writes_every_part_for_a_person_to_open(world: World) -> None:
    result = world.run("run", "monthly-costs", "--period", "2024-08", "--dry-run", "--out", "out")
    assert result.returncode == 0, result.stderr
    assert "Email subject: API usage, August 2024: 1,244.50 credits" in result.stdout
    written = sorted(p.name for p in (world.folder / "out").iterdir())
    assert written == [
        "monthly-costs-2024-08.email.html",
        "monthly-costs-2024-08.email.txt",
        "monthly-costs-2024-08.png",
        "monthly-costs-2024-08.slack.json",
        "monthly-costs-2024-08.txt",
        "usage-monthly-costs-2024-08.csv",
    ]
    html = (world.folder / "out" / "monthly-costs-2024-08.email.html").read_text(encoding="utf-8")
    assert "data:image/png;base64," in html
    assert world.smtp.messages == []


def test_a_daily_report_runs_for_an_explicit_day(world: World) -> None:
    result = world.run("run", "monthly-costs", "--period", "2024-08-15", "--dry-run")
    assert result.returncode == 0, result.stderr
    assert "Total        10.00 credits" in result.stdout
