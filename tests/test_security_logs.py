"""Every log record, of every library, is scrubbed of every secret reportbot knows."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from reportbot.logs import SECRETS, Secrets, setup_logging
from reportbot.settings import Settings

TOKEN = "platform-v1-LOGSECRET-0123456789"
WEBHOOK = "https://hooks.slack.com/services/T000/B000/HOOKSECRET 0123"
DB_PASSWORD = "db-p@ss-SECRET"


@pytest.fixture
def logging_restored() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:], root.level = handlers, level


def log_everything(logger_name: str) -> None:
    log = logging.getLogger(logger_name)
    log.warning("Invalid URL detected: %s", WEBHOOK.removeprefix("https://"))
    log.warning("token " + TOKEN + " in the message itself, with a % sign")
    log.warning(
        "quoted %s", "https%3A%2F%2Fhooks.slack.com%2Fservices%2FT000%2FB000%2FHOOKSECRET%200123"
    )
    log.warning("path only: %s", "/services/T000/B000/HOOKSECRET 0123")
    log.warning("db %r", f"postgresql://app:{DB_PASSWORD.replace('@', '%40')}@db/x")
    try:
        raise ValueError(f"bad header Bearer {TOKEN}")
    except ValueError:
        log.exception("failed with %s", TOKEN)
    log.warning("args that do not fit %s %s", TOKEN)


@pytest.mark.parametrize(("fmt", "traceback"), [("text", False), ("text", True), ("json", False)])
@pytest.mark.parametrize("logger_name", ["slack_sdk.webhook", "sqlalchemy.engine", "reportbot.x"])
def test_no_log_format_shows_a_secret_from_any_library(
    logging_restored: None,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    fmt: str,
    traceback: bool,
    logger_name: str,
) -> None:
    monkeypatch.setenv("ACEDATA_TOKEN", TOKEN)
    monkeypatch.setenv("SLACK_WEBHOOK_URL", WEBHOOK)
    monkeypatch.setenv("REPORTBOT_DATABASE_URL", f"postgresql://app:{DB_PASSWORD}@db/x")
    setup_logging(logging.DEBUG, fmt, traceback=traceback)
    logging.getLogger(logger_name).setLevel(logging.DEBUG)

    log_everything(logger_name)

    err = capsys.readouterr().err
    assert err.count("[ACEDATA_TOKEN]") >= 3
    assert "[SLACK_WEBHOOK_URL]" in err and "[database password]" in err
    for secret in (TOKEN, "HOOKSECRET", "LOGSECRET", "SECRET"):
        assert secret not in err
    if fmt == "json":
        assert all(json.loads(line)["message"] for line in err.splitlines())


def test_secrets_read_from_a_dotenv_file_are_scrubbed_too(
    workdir: Path, logging_restored: None, capsys: pytest.CaptureFixture[str]
) -> None:
    (workdir / ".env").write_text("SMTP_PASSWORD=dotenv-SECRET-pw\n", encoding="utf-8")
    setup_logging(logging.DEBUG)
    Settings()
    logging.getLogger("smtplib").warning("AUTH PLAIN with dotenv-SECRET-pw")
    assert "dotenv-SECRET-pw" not in capsys.readouterr().err


@pytest.mark.parametrize(
    ("value", "text", "scrubbed"),
    [
        ("s3cr3t-value", "a s3cr3t-value b", "a [X] b"),
        ("s3cr3t value", "a s3cr3t%20value b", "a [X] b"),
        ("short", "short words stay", "short words stay"),
        ("", "nothing to do", "nothing to do"),
        ("abcdef", "abcdefabcdef", "[X][X]"),
    ],
)
def test_a_secret_is_blanked_out_in_every_spelling(value: str, text: str, scrubbed: str) -> None:
    secrets = Secrets()
    secrets.add("X", value)
    assert secrets.scrub(text) == scrubbed


def test_the_global_secrets_know_the_settings_secrets() -> None:
    Settings(acedata_token="platform-v1-GLOBAL-secret")  # type: ignore[arg-type]
    assert "platform-v1-GLOBAL-secret" not in SECRETS.scrub("x platform-v1-GLOBAL-secret y")


def test_a_secret_with_control_characters_is_blanked_out_as_repr_shows_it_too() -> None:
    secrets = Secrets()
    secrets.add("SLACK_BOT_TOKEN", "xoxb-SECRET\r\nX: 1")
    shown = "Invalid header value b'Bearer xoxb-SECRET\\r\\nX: 1'"
    assert secrets.scrub(shown) == "Invalid header value b'Bearer [SLACK_BOT_TOKEN]'"


def test_settings_sent_to_a_child_process_teach_it_their_secrets(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import pickle

    settings = Settings(smtp_password="child-SECRET-pw")  # type: ignore[arg-type]
    sent = pickle.dumps(settings)
    monkeypatch.setattr(SECRETS, "_labels", {})  # a fresh process knows nothing
    monkeypatch.setattr(SECRETS, "_order", [])
    assert pickle.loads(sent) == settings
    assert SECRETS.scrub("AUTH child-SECRET-pw") == "AUTH [SMTP_PASSWORD]"
