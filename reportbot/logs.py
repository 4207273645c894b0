"""Logging to stderr, one line per event, as text or JSON for log collectors.

Every record that reaches our handler, from any library, is scrubbed of every known secret
first (its message, its arguments and its exception text): the secrets of the environment
when logging is set up, and those of each :class:`~reportbot.config.Settings` as it is built
(which also reads ``.env``). A secret is shown as its variable's name in brackets.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from datetime import UTC, datetime
from urllib.parse import quote, unquote, urlsplit

SECRET_VARIABLES = (
    "ACEDATA_TOKEN",
    "SLACK_BOT_TOKEN",
    "SLACK_WEBHOOK_URL",
    "SMTP_PASSWORD",
    "REPORTBOT_HEARTBEAT_URL",
)
DATABASE_VARIABLES = ("REPORTBOT_DATABASE_URL", "DATABASE_URL")
MIN_SECRET = 6  # shorter values would blank out ordinary words (and are hardly secret)


class Secrets:
    """The secrets known to this process and how to blank them out of a text."""

    def __init__(self) -> None:
        self._labels: dict[str, str] = {}
        self._order: list[str] = []

    def add(self, label: str, value: str | None) -> None:
        """Remember ``value`` (and the ways a library may spell it) as ``[label]``."""
        for form in _spellings(label, value or ""):
            if len(form) >= MIN_SECRET and form not in self._labels:
                self._labels[form] = f"[{label}]"
                self._order = sorted(self._labels, key=len, reverse=True)

    def add_database_url(self, url: str | None) -> None:
        """The password of a database URL (as written and decoded)."""
        try:
            password = urlsplit(url or "").password
        except ValueError:
            return
        self.add("database password", password)

    def scrub(self, text: str) -> str:
        for secret in self._order:
            if secret in text:
                text = text.replace(secret, self._labels[secret])
        return text

    def __bool__(self) -> bool:
        return bool(self._labels)


def _spellings(label: str, value: str) -> list[str]:
    """The value, stripped, percent-encoded and decoded; a webhook's path on its own too."""
    value = value.strip()
    forms = [value, quote(value, safe=""), quote(value, safe="/:@"), unquote(value)]
    forms.append(repr(value)[1:-1])  # as a repr() shows it: control characters escaped
    forms.append(repr(value.encode("utf-8", "replace"))[2:-1])  # and as bytes
    if label == "SLACK_WEBHOOK_URL":
        try:
            path = urlsplit(value).path
        except ValueError:
            path = ""
        forms += [path, quote(path)] if path.strip("/") else []
    return forms


SECRETS = Secrets()


def remember_environment_secrets(environ: dict[str, str] | None = None) -> None:
    environ = dict(os.environ) if environ is None else environ
    for name in SECRET_VARIABLES:
        SECRETS.add(name, environ.get(name))
    for name in DATABASE_VARIABLES:
        SECRETS.add_database_url(environ.get(name))


class ScrubFilter(logging.Filter):
    """Blanks out every known secret in a record's message, arguments and exception."""

    def __init__(self, secrets: Secrets = SECRETS) -> None:
        super().__init__()
        self.secrets = secrets

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.secrets:
            return True
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # arguments that do not fit the format string
            message = f"{record.msg} {record.args}"
        record.msg, record.args = self.secrets.scrub(message), None
        if record.exc_info and record.exc_info[1] is not None and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.secrets.scrub(record.exc_text)
        if record.stack_info:
            record.stack_info = self.secrets.scrub(record.stack_info)
        return True


def _exception_line(record: logging.LogRecord) -> str | None:
    """The exception of a record as ``Type: message``, scrubbed, or None."""
    if not record.exc_info or record.exc_info[0] is None:
        return None
    return SECRETS.scrub(f"{record.exc_info[0].__name__}: {record.exc_info[1]}")

# Fields of a delivery outcome record (reportbot.delivery.loop), kept as JSON keys.
OUTCOME_FIELDS = ("report", "period", "destination", "status", "attempt", "error")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": SECRETS.scrub(record.getMessage()),
        }
        for key in OUTCOME_FIELDS:
            if hasattr(record, key):
                entry[key] = getattr(record, key)
        if (error := _exception_line(record)) is not None:
            entry["error"] = error
        return SECRETS.scrub(json.dumps(entry, ensure_ascii=False))


class OneLineFormatter(logging.Formatter):
    """Text lines; an exception adds its type and message, never a multi-line traceback."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)-7s %(name)s: %(message)s", "%Y-%m-%d %H:%M:%S")

    def format(self, record: logging.LogRecord) -> str:
        line = super().formatMessage(self._with_time(record))
        if (error := _exception_line(record)) is not None:
            line += f"  ({error})"
        return SECRETS.scrub(line.replace("\n", " "))

    def _with_time(self, record: logging.LogRecord) -> logging.LogRecord:
        record.message = record.getMessage()
        record.asctime = self.formatTime(record, self.datefmt)
        return record


class TracebackFormatter(logging.Formatter):
    """Text lines with full tracebacks (``-v``), scrubbed like the others."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)-7s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        return SECRETS.scrub(super().format(record))


def setup_logging(level: int, fmt: str = "text", *, traceback: bool = False) -> None:
    remember_environment_secrets()
    handler = logging.StreamHandler(sys.stderr)
    formatter: logging.Formatter
    if fmt == "json":
        formatter = JsonFormatter()
    elif traceback:
        formatter = TracebackFormatter()
    else:
        formatter = OneLineFormatter()
    handler.setFormatter(formatter)
    handler.addFilter(ScrubFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # With JSON logs every delivery outcome is one object, whatever the level.
    outcomes = logging.getLogger("reportbot.outcomes")
    outcomes.setLevel(min(logging.INFO, level) if fmt == "json" else logging.NOTSET)
    for noisy in ("httpx", "httpcore", "slack_sdk", "urllib3", "apscheduler.executors"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))


def scrub(text: str) -> str:
    """``text`` with every known secret blanked out (for messages printed outside logging)."""
    return SECRETS.scrub(text)
