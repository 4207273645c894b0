"""Logging to stderr, one line per event, as text or JSON for log collectors."""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

# Fields of a delivery outcome record (reportbot.delivery.loop), kept as JSON keys.
OUTCOME_FIELDS = ("report", "period", "destination", "status", "attempt", "error")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in OUTCOME_FIELDS:
            if hasattr(record, key):
                entry[key] = getattr(record, key)
        if record.exc_info and record.exc_info[0] is not None:
            entry["error"] = f"{record.exc_info[0].__name__}: {record.exc_info[1]}"
        return json.dumps(entry, ensure_ascii=False)


class OneLineFormatter(logging.Formatter):
    """Text lines; an exception adds its type and message, never a multi-line traceback."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)-7s %(name)s: %(message)s", "%Y-%m-%d %H:%M:%S")

    def formatException(self, ei: Any) -> str:
        return f"  ({ei[0].__name__}: {ei[1]})"

    def format(self, record: logging.LogRecord) -> str:
        return super().format(record).replace("\n", " ")


def setup_logging(level: int, fmt: str = "text", *, traceback: bool = False) -> None:
    handler = logging.StreamHandler(sys.stderr)
    formatter: logging.Formatter
    if fmt == "json":
        formatter = JsonFormatter()
    elif traceback:
        formatter = logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s")
    else:
        formatter = OneLineFormatter()
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # With JSON logs every delivery outcome is one object, whatever the level.
    outcomes = logging.getLogger("reportbot.outcomes")
    outcomes.setLevel(min(logging.INFO, level) if fmt == "json" else logging.NOTSET)
    for noisy in ("httpx", "httpcore", "slack_sdk", "urllib3", "apscheduler.executors"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))
