"""Whether the default SQLite ledger sits on a disk that a restart wipes (a dyno, a container).

Pure: the environment and what the file system says are passed in.
"""

from __future__ import annotations

from collections.abc import Mapping

from reportbot.ledger.schema import sqlite_path

# Variables that platforms with throw-away disks set in every process they start.
EPHEMERAL_MARKERS = (
    "DYNO",  # Heroku
    "KUBERNETES_SERVICE_HOST",
    "ECS_CONTAINER_METADATA_URI_V4",
    "FLY_APP_NAME",
    "RENDER_SERVICE_ID",
    "K_SERVICE",  # Cloud Run
    "RAILWAY_ENVIRONMENT",
)


def ephemeral_ledger_warning(
    url: str, environ: Mapping[str, str], *, in_container: bool
) -> str | None:
    """A warning when the ledger is the default SQLite file on a host that looks ephemeral."""
    path = sqlite_path(url)
    if path is None or environ.get("REPORTBOT_DATABASE_URL") or environ.get("DATABASE_URL"):
        return None
    marker = next((name for name in EPHEMERAL_MARKERS if environ.get(name)), None)
    if marker is None and not in_container:
        return None
    where = f"{marker} is set" if marker else "this is a container"
    return (
        f"the delivery ledger is the SQLite file {path} and {where}: a restart may wipe it. "
        "Set REPORTBOT_DATABASE_URL to a PostgreSQL database; until then Slack posts are "
        "found again by their idempotency keys, but emails and webhook posts of a period "
        "already sent would be sent again"
    )
